// Layan agent inbox. Plain JavaScript, no build step.
// Rule: anything a customer or agent wrote goes into the page with textContent, never innerHTML.
(function () {
  "use strict";
  var CSRF = document.querySelector('meta[name="csrf-token"]').content;
  var listEl = document.getElementById("conversations");
  var mainEl = document.getElementById("conversation");
  var connEl = document.getElementById("conn");
  var notifyBtn = document.getElementById("notify-btn");
  var settingsBtn = document.getElementById("settings-btn");
  var settingsDlg = document.getElementById("settings");

  var me = null;
  var agents = [];
  var view = "open";
  var convs = new Map(); // id -> summary
  var unread = new Set();
  var current = null; // {id, lastSeq, seen: Set(seq), els}
  var ws = null, wsReady = false, attempt = 0;

  // ---- helpers ---------------------------------------------------------------------------
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }
  function api(method, path, body) {
    var opts = { method: method, headers: { "X-CSRF-Token": CSRF }, credentials: "same-origin" };
    if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
    return fetch(path, opts).then(function (r) {
      if (r.status === 401) { location.href = "/login"; throw new Error("logged out"); }
      return r.json().then(function (j) {
        if (!r.ok) throw new Error((j.error && j.error.message) || r.statusText);
        return j;
      });
    });
  }
  function uuid() {
    return crypto.randomUUID ? crypto.randomUUID() : "a-" + Date.now() + "-" + Math.random().toString(36).slice(2);
  }
  function ago(ms) {
    var s = Math.max(0, (Date.now() - ms) / 1000);
    if (s < 60) return "now";
    if (s < 3600) return Math.floor(s / 60) + "m";
    if (s < 86400) return Math.floor(s / 3600) + "h";
    return Math.floor(s / 86400) + "d";
  }
  function clock(ms) {
    return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }
  function contactName(c) { return c.contact_name || c.contact_email || ("Visitor " + c.contact_id); }
  function toast(text) {
    var t = el("div", "toast", text);
    document.body.appendChild(t);
    setTimeout(function () { t.remove(); }, 4000);
  }

  // ---- new-chat signals ------------------------------------------------------------------
  var audio = null;
  function ding() {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var o = audio.createOscillator(), g = audio.createGain();
      o.type = "sine"; o.frequency.value = 880;
      g.gain.setValueAtTime(0.0001, audio.currentTime);
      g.gain.exponentialRampToValueAtTime(0.2, audio.currentTime + 0.02);
      g.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.35);
      o.connect(g); g.connect(audio.destination);
      o.start(); o.stop(audio.currentTime + 0.4);
    } catch (e) { /* no audio: the list still highlights */ }
  }
  function notify(summary, message, isNew) {
    ding();
    if (window.Notification && Notification.permission === "granted" && document.hidden) {
      var n = new Notification((isNew ? "New chat: " : "") + contactName(summary) + " · #" + summary.number, {
        body: message.body.slice(0, 140), tag: "conv-" + summary.id
      });
      n.onclick = function () { window.focus(); openConversation(summary.id); n.close(); };
    }
    document.title = "(" + (unread.size || 1) + ") Inbox · Layan";
  }
  if (window.Notification && Notification.permission === "default") {
    notifyBtn.hidden = false;
    notifyBtn.addEventListener("click", function () {
      Notification.requestPermission().then(function () { notifyBtn.hidden = true; });
    });
  }
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) document.title = "Inbox · Layan";
  });

  // ---- conversation list -----------------------------------------------------------------
  function viewQuery() {
    switch (view) {
      case "mine": return "?status=open&assignee=me";
      case "unassigned": return "?status=open&assignee=unassigned";
      case "resolved": return "?status=resolved";
      case "all": return "?status=all";
      default: return "?status=open";
    }
  }
  function inView(c) {
    switch (view) {
      case "mine": return c.status === "open" && me && c.assignee_id === me.id;
      case "unassigned": return c.status === "open" && c.assignee_id == null;
      case "resolved": return c.status === "resolved";
      case "all": return true;
      default: return c.status === "open";
    }
  }
  function loadList() {
    return api("GET", "/api/v1/conversations" + viewQuery() + "&limit=100").then(function (rows) {
      convs = new Map();
      rows.forEach(function (c) { convs.set(c.id, c); });
      renderList();
    });
  }
  function renderList() {
    var rows = Array.from(convs.values()).filter(inView)
      .sort(function (a, b) { return b.last_message_at - a.last_message_at || b.id - a.id; });
    listEl.textContent = "";
    if (!rows.length) listEl.appendChild(el("li", "empty-list", "Nothing here. Enjoy the quiet ☕"));
    rows.forEach(function (c) {
      var li = el("li", "conv");
      li.tabIndex = 0;
      li.dataset.id = c.id;
      if (current && current.id === c.id) li.classList.add("active");
      if (unread.has(c.id)) li.classList.add("unread");
      var top = el("div", "conv-top");
      top.appendChild(el("span", "conv-name", contactName(c)));
      top.appendChild(el("span", "conv-time", ago(c.last_message_at)));
      var mid = el("div", "conv-preview", c.last_message ? (c.last_message.direction === "note" ? "📝 " : "") + c.last_message.body : "");
      var bottom = el("div", "conv-meta");
      bottom.appendChild(el("span", "num", "#" + c.number));
      bottom.appendChild(el("span", "pill " + c.status, c.status));
      bottom.appendChild(el("span", "inbox", c.inbox_name));
      if (c.waiting_since) bottom.appendChild(el("span", "waiting", "waiting " + ago(c.waiting_since)));
      bottom.appendChild(el("span", "assignee", c.assignee_name ? "→ " + c.assignee_name : "unassigned"));
      li.appendChild(top); li.appendChild(mid); li.appendChild(bottom);
      li.addEventListener("click", function () { openConversation(c.id); });
      li.addEventListener("keydown", function (e) { if (e.key === "Enter") openConversation(c.id); });
      listEl.appendChild(li);
    });
    var open = Array.from(convs.values()).filter(function (c) { return c.status === "open"; }).length;
    document.getElementById("count-open").textContent = view === "open" && open ? String(open) : "";
  }
  document.querySelectorAll(".filters button").forEach(function (b) {
    b.addEventListener("click", function () {
      document.querySelectorAll(".filters button").forEach(function (x) { x.classList.remove("active"); });
      b.classList.add("active");
      view = b.dataset.view;
      loadList();
    });
  });

  // ---- one conversation ------------------------------------------------------------------
  function openConversation(id) {
    if (current && wsReady) ws.send(JSON.stringify({ type: "unfollow", conversation_id: current.id }));
    unread.delete(id);
    current = { id: id, lastSeq: 0, seen: new Set() };
    mainEl.classList.remove("empty");
    mainEl.textContent = "";
    var head = el("div", "conv-head");
    var info = el("div", "conv-info");
    var name = el("h2", "conv-title");
    var sub = el("div", "conv-sub");
    info.appendChild(name); info.appendChild(sub);
    var actions = el("div", "conv-actions");
    var assign = el("select", "assign");
    assign.setAttribute("aria-label", "Assignee");
    var statusBtn = el("button", "primary status-btn");
    actions.appendChild(assign); actions.appendChild(statusBtn);
    head.appendChild(info); head.appendChild(actions);
    var log = el("div", "log");
    log.setAttribute("aria-live", "polite");
    var typing = el("div", "typing-line");
    var form = el("form", "reply");
    var tabs = el("div", "reply-tabs");
    var replyTab = el("button", "tab active", "Reply"); replyTab.type = "button";
    var noteTab = el("button", "tab", "Private note"); noteTab.type = "button";
    tabs.appendChild(replyTab); tabs.appendChild(noteTab);
    var box = el("textarea");
    box.placeholder = "Write a reply… (Enter to send, Shift+Enter for a new line)";
    box.setAttribute("aria-label", "Reply");
    box.maxLength = 10000;
    var send = el("button", "primary send", "Send"); send.type = "submit";
    var row = el("div", "reply-row");
    row.appendChild(box); row.appendChild(send);
    form.appendChild(tabs); form.appendChild(row);
    mainEl.appendChild(head); mainEl.appendChild(log); mainEl.appendChild(typing); mainEl.appendChild(form);
    current.els = { name: name, sub: sub, assign: assign, statusBtn: statusBtn, log: log, typing: typing, box: box };

    var isNote = false;
    function setMode(note) {
      isNote = note;
      replyTab.classList.toggle("active", !note); noteTab.classList.toggle("active", note);
      form.classList.toggle("note-mode", note);
      box.placeholder = note ? "Private note — only agents see this" : "Write a reply… (Enter to send, Shift+Enter for a new line)";
    }
    replyTab.onclick = function () { setMode(false); box.focus(); };
    noteTab.onclick = function () { setMode(true); box.focus(); };
    box.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); form.requestSubmit(); }
    });
    var typingOn = false, typingTimer = null;
    box.addEventListener("input", function () {
      if (isNote || !wsReady) return;
      if (!typingOn) { typingOn = true; ws.send(JSON.stringify({ type: "typing", conversation_id: id, on: true })); }
      clearTimeout(typingTimer);
      typingTimer = setTimeout(function () {
        typingOn = false;
        if (wsReady) ws.send(JSON.stringify({ type: "typing", conversation_id: id, on: false }));
      }, 2500);
    });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var body = box.value;
      if (!body.trim()) return;
      send.disabled = true;
      var cid = uuid();
      var attemptSend = function (tries) {
        return api("POST", "/api/v1/conversations/" + id + "/messages", { body: body, client_message_id: cid, private: isNote })
          .catch(function (err) {
            // Network errors are retried with the same id: the server stores it once.
            if (tries > 0 && err instanceof TypeError) return new Promise(function (r) { setTimeout(r, 1000); }).then(function () { return attemptSend(tries - 1); });
            throw err;
          });
      };
      attemptSend(3).then(function (r) {
        box.value = "";
        addMessage(r.message);
      }).catch(function (err) { toast("Not sent: " + err.message); })
        .finally(function () { send.disabled = false; box.focus(); });
    });
    assign.addEventListener("change", function () {
      var v = assign.value === "" ? null : Number(assign.value);
      api("POST", "/api/v1/conversations/" + id + "/assignee", { agent_id: v }).then(upsert).catch(function (e) { toast(e.message); });
    });
    statusBtn.addEventListener("click", function () {
      var c = convs.get(id);
      var next = c && c.status === "open" ? "resolved" : "open";
      api("POST", "/api/v1/conversations/" + id + "/status", { status: next }).then(upsert).catch(function (e) { toast(e.message); });
    });

    api("GET", "/api/v1/conversations/" + id).then(function (c) {
      upsert(c);
      return api("GET", "/api/v1/conversations/" + id + "/messages?after_seq=0&limit=500");
    }).then(function (msgs) {
      if (!current || current.id !== id) return;
      msgs.forEach(addMessage);
      follow();
      box.focus();
    }).catch(function (e) { toast(e.message); });
    renderList();
  }

  function follow() {
    if (current && wsReady) ws.send(JSON.stringify({ type: "follow", conversation_id: current.id, after_seq: current.lastSeq }));
  }

  function renderHead() {
    if (!current) return;
    var c = convs.get(current.id);
    if (!c) return;
    var e = current.els;
    e.name.textContent = contactName(c);
    e.sub.textContent = "#" + c.number + " · " + c.inbox_name + (c.contact_email ? " · " + c.contact_email : "") + " · " + c.status;
    e.statusBtn.textContent = c.status === "open" ? "Resolve" : "Reopen";
    e.assign.textContent = "";
    var none = el("option", null, "Unassigned"); none.value = "";
    e.assign.appendChild(none);
    agents.forEach(function (a) {
      var o = el("option", null, a.name + (me && a.id === me.id ? " (me)" : ""));
      o.value = String(a.id);
      if (c.assignee_id === a.id) o.selected = true;
      e.assign.appendChild(o);
    });
  }

  function addMessage(m) {
    if (!current || m.conversation_id !== current.id || current.seen.has(m.seq)) return;
    current.seen.add(m.seq);
    if (m.seq > current.lastSeq) current.lastSeq = m.seq;
    var log = current.els.log;
    var b = el("div", "msg " + m.direction);
    b.dataset.seq = m.seq;
    var meta = el("div", "msg-meta");
    var who = m.direction === "incoming" ? contactName(convs.get(current.id) || {}) :
      m.direction === "system" ? "" : m.direction === "bot" ? "Bot" : (m.author_name || "Agent");
    if (m.direction === "note") who += " · private note";
    meta.textContent = (who ? who + " · " : "") + clock(m.created_at);
    b.appendChild(el("div", "msg-body", m.body));
    b.appendChild(meta);
    var after = null;
    var nodes = log.querySelectorAll(".msg");
    for (var i = 0; i < nodes.length; i++) if (Number(nodes[i].dataset.seq) > m.seq) { after = nodes[i]; break; }
    log.insertBefore(b, after);
    if (m.direction === "incoming") current.els.typing.textContent = "";
    log.scrollTop = log.scrollHeight;
  }

  function upsert(c) {
    convs.set(c.id, c);
    renderList();
    if (current && current.id === c.id) renderHead();
    return c;
  }

  // ---- live connection -------------------------------------------------------------------
  function connect() {
    var proto = location.protocol === "https:" ? "wss:" : "ws:";
    ws = new WebSocket(proto + "//" + location.host + "/api/v1/agent/ws");
    ws.onopen = function () { attempt = 0; };
    ws.onmessage = function (ev) {
      var f;
      try { f = JSON.parse(ev.data); } catch (e) { return; }
      switch (f.type) {
        case "hello":
          wsReady = true;
          connEl.textContent = "live"; connEl.className = "conn live";
          // Whatever happened while we were away: reload the list, resume the open conversation.
          loadList();
          follow();
          break;
        case "conversation": {
          var prev = convs.get(f.conversation.id);
          upsert(f.conversation);
          var m = f.new_message;
          if (m && m.direction === "incoming") {
            var viewing = current && current.id === m.conversation_id && !document.hidden;
            if (!viewing) {
              unread.add(m.conversation_id);
              renderList();
              notify(f.conversation, m, !prev && m.seq === 1);
            }
          }
          break;
        }
        case "message":
          addMessage(f.message);
          break;
        case "typing":
          if (current && f.conversation_id === current.id && f.who.kind === "contact") {
            current.els.typing.textContent = f.on ? "Customer is typing…" : "";
          }
          break;
        case "resync":
          loadList();
          break;
      }
    };
    ws.onclose = function () {
      wsReady = false;
      connEl.textContent = "reconnecting…"; connEl.className = "conn down";
      attempt++;
      var delay = Math.min(10000, 500 * Math.pow(2, attempt - 1));
      setTimeout(connect, delay / 2 + Math.random() * delay / 2);
    };
  }

  // ---- widget settings -------------------------------------------------------------------
  settingsBtn.addEventListener("click", function () {
    api("GET", "/api/v1/inboxes").then(function (inboxes) {
      settingsDlg.textContent = "";
      settingsDlg.appendChild(el("h2", null, "Chat widget"));
      inboxes.forEach(function (inbox) {
        var sec = el("section", "inbox-settings");
        sec.appendChild(el("h3", null, inbox.name));
        sec.appendChild(el("p", "muted", "Paste this into every page of your shop, just before </body>:"));
        var code = el("pre", "snippet", '<script src="' + location.origin + '/widget.js" data-inbox="' + inbox.widget_key + '" async></script>');
        sec.appendChild(code);
        if (me && me.role === "admin") {
          var f = el("form", "inbox-form");
          var g = el("textarea"); g.value = inbox.greeting; g.maxLength = 500; g.setAttribute("aria-label", "Greeting");
          var c = el("input"); c.type = "color"; c.value = inbox.color; c.setAttribute("aria-label", "Colour");
          var save = el("button", "primary", "Save"); save.type = "submit";
          var l1 = el("label", null, "Greeting"); l1.appendChild(g);
          var l2 = el("label", null, "Colour"); l2.appendChild(c);
          f.appendChild(l1); f.appendChild(l2); f.appendChild(save);
          f.addEventListener("submit", function (e) {
            e.preventDefault();
            api("PATCH", "/api/v1/inboxes/" + inbox.id, { greeting: g.value, color: c.value })
              .then(function () { toast("Saved"); }).catch(function (err) { toast(err.message); });
          });
          sec.appendChild(f);
        }
        settingsDlg.appendChild(sec);
      });
      var close = el("button", "ghost", "Close");
      close.onclick = function () { settingsDlg.close(); };
      settingsDlg.appendChild(close);
      settingsDlg.showModal();
    }).catch(function (e) { toast(e.message); });
  });

  // Keyboard: j/k move through the list, r focuses the reply box, e resolves.
  document.addEventListener("keydown", function (e) {
    if (e.target.closest("textarea, input, select, dialog")) return;
    var items = Array.from(listEl.querySelectorAll(".conv"));
    var idx = items.findIndex(function (li) { return current && Number(li.dataset.id) === current.id; });
    if (e.key === "j" && items.length) openConversation(Number(items[Math.min(items.length - 1, idx + 1)].dataset.id));
    else if (e.key === "k" && items.length) openConversation(Number(items[Math.max(0, idx - 1)].dataset.id));
    else if (e.key === "r" && current) { e.preventDefault(); current.els.box.focus(); }
    else if (e.key === "e" && current) current.els.statusBtn.click();
  });

  setInterval(renderList, 60000); // keep "waiting 5m" honest

  Promise.all([api("GET", "/api/v1/me"), api("GET", "/api/v1/agents")]).then(function (r) {
    me = r[0].agent;
    agents = r[1];
    return loadList();
  }).then(connect).catch(function (e) { toast(e.message); });
})();
