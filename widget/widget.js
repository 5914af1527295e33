/*
 * Layan chat widget. Embed with one tag:
 *   <script src="https://support.example.com/widget.js" data-inbox="INBOX_KEY" async></script>
 * Optional: data-locale="id" (en, id, th, nl; otherwise the page's <html lang> or the browser's).
 * Optional: data-identity="JWT" — the signed-in shopper, signed by the shop's server (HS256 with
 * Layan's widget_identity_secret; claims email, name, exp). Leave it out when nobody is signed in.
 * The signed-in session ends at exp; the widget then calls window.layanIdentity() if the page
 * defines it (a fresh token, or a promise of one) and otherwise goes on anonymously.
 *
 * No framework and no build step. Everything lives in a shadow root so the shop's CSS and ours
 * never mix. Text from anyone is put in the page with textContent only: never parsed as HTML.
 */
(function () {
  "use strict";
  if (window.__layanWidget) return;
  window.__layanWidget = true;

  var script = document.currentScript || document.querySelector("script[data-inbox]");
  if (!script) return;
  var KEY = script.getAttribute("data-inbox");
  var IDENTITY = script.getAttribute("data-identity") || null;
  var BASE = new URL(script.src, location.href).origin;
  var WS_BASE = BASE.replace(/^http/, "ws");
  var STORE_KEY = "layan:" + KEY;
  var MAX_CHARS = 10000;

  var TEXT = {
    en: {
      open: "Chat with us", close: "Close chat", placeholder: "Write a message…", send: "Send",
      person: "A person answers here", personNamed: "{name} · a person", bot: "Automated assistant (bot)",
      away: "We're away right now", typing: "{name} is typing…", someone: "Someone",
      offlineIntro: "Nobody is online right now. Leave a message and we'll reply by email.",
      name: "Your name", email: "Your email", message: "Your message", leave: "Leave a message",
      thanks: "Thanks! We received your message and will reply to {email}.",
      talkToPerson: "Talk to a person",
      sending: "Sending…", failed: "Not sent", retry: "Will retry when back online",
      slowDown: "You are sending a lot at once; your message is kept and goes out in a moment.", tooFast: "Too many attempts from here for now; please try again in a little while. What you wrote is still here.", reconnecting: "Reconnecting…", ticket: "Ticket #{n}", tooLong: "Your message is too long (max {n} characters).",
      you: "You", resolved: "This conversation was marked as resolved. Write again any time.",
      help: "Help articles", searchHelp: "Search help articles…", suggested: "Suggested articles", back: "Back to chat", openFull: "Open in the help center", noArticles: "No articles found. Ask us in the chat!"
    },
    id: {
      open: "Chat dengan kami", close: "Tutup chat", placeholder: "Tulis pesan…", send: "Kirim",
      person: "Dijawab oleh tim kami (manusia)", personNamed: "{name} · tim kami (manusia)", bot: "Asisten otomatis (bot)",
      away: "Kami sedang tidak online", typing: "{name} sedang mengetik…", someone: "Seseorang",
      offlineIntro: "Tim kami sedang tidak online. Tinggalkan pesan dan kami akan membalas lewat email.",
      name: "Nama Anda", email: "Email Anda", message: "Pesan Anda", leave: "Tinggalkan pesan",
      thanks: "Terima kasih! Pesan Anda sudah kami terima dan akan kami balas ke {email}.",
      talkToPerson: "Bicara dengan orang",
      sending: "Mengirim…", failed: "Gagal terkirim", retry: "Akan dikirim ulang saat kembali online",
      slowDown: "Anda mengirim terlalu cepat; pesan Anda disimpan dan akan terkirim sebentar lagi.", tooFast: "Terlalu banyak percobaan dari sini untuk saat ini; silakan coba lagi sebentar lagi. Tulisan Anda masih tersimpan di sini.", reconnecting: "Menyambungkan ulang…", ticket: "Tiket #{n}", tooLong: "Pesan terlalu panjang (maks. {n} karakter).",
      you: "Anda", resolved: "Percakapan ini sudah ditandai selesai. Silakan menulis lagi kapan saja.",
      help: "Artikel bantuan", searchHelp: "Cari artikel bantuan…", suggested: "Artikel yang mungkin membantu", back: "Kembali ke chat", openFull: "Buka di pusat bantuan", noArticles: "Tidak ada artikel. Tanyakan kepada kami di chat!"
    },
    th: {
      open: "แชทกับเรา", close: "ปิดแชท", placeholder: "พิมพ์ข้อความ…", send: "ส่ง",
      person: "ตอบโดยทีมงาน (คนจริง)", personNamed: "{name} · ทีมงาน (คนจริง)", bot: "ผู้ช่วยอัตโนมัติ (บอท)",
      away: "ขณะนี้ไม่มีเจ้าหน้าที่ออนไลน์", typing: "{name} กำลังพิมพ์…", someone: "เจ้าหน้าที่",
      offlineIntro: "ขณะนี้ไม่มีเจ้าหน้าที่ออนไลน์ ฝากข้อความไว้ แล้วเราจะตอบกลับทางอีเมล",
      name: "ชื่อของคุณ", email: "อีเมลของคุณ", message: "ข้อความของคุณ", leave: "ฝากข้อความ",
      thanks: "ขอบคุณ! เราได้รับข้อความแล้ว และจะตอบกลับไปที่ {email}",
      talkToPerson: "คุยกับเจ้าหน้าที่",
      sending: "กำลังส่ง…", failed: "ส่งไม่สำเร็จ", retry: "จะส่งอีกครั้งเมื่อกลับมาออนไลน์",
      slowDown: "คุณส่งข้อความเร็วเกินไป ข้อความของคุณถูกเก็บไว้และจะส่งในอีกสักครู่", tooFast: "มีการส่งจากที่นี่มากเกินไปในตอนนี้ โปรดลองอีกครั้งในอีกสักครู่ ข้อความที่คุณเขียนยังอยู่ที่นี่", reconnecting: "กำลังเชื่อมต่อใหม่…", ticket: "ตั๋ว #{n}", tooLong: "ข้อความยาวเกินไป (สูงสุด {n} ตัวอักษร)",
      you: "คุณ", resolved: "การสนทนานี้ได้รับการแก้ไขแล้ว เขียนมาได้ทุกเมื่อ",
      help: "บทความช่วยเหลือ", searchHelp: "ค้นหาบทความช่วยเหลือ…", suggested: "บทความที่อาจช่วยได้", back: "กลับไปที่แชท", openFull: "เปิดในศูนย์ช่วยเหลือ", noArticles: "ไม่พบบทความ ถามเราในแชทได้เลย!"
    },
    nl: {
      open: "Chat met ons", close: "Chat sluiten", placeholder: "Schrijf een bericht…", send: "Versturen",
      person: "Een medewerker antwoordt hier", personNamed: "{name} · medewerker", bot: "Automatische assistent (bot)",
      away: "We zijn nu niet online", typing: "{name} is aan het typen…", someone: "Iemand",
      offlineIntro: "Er is nu niemand online. Laat een bericht achter, dan antwoorden we per e-mail.",
      name: "Je naam", email: "Je e-mailadres", message: "Je bericht", leave: "Bericht achterlaten",
      thanks: "Bedankt! We hebben je bericht ontvangen en antwoorden naar {email}.",
      talkToPerson: "Praat met een medewerker",
      sending: "Versturen…", failed: "Niet verstuurd", retry: "Wordt opnieuw verstuurd zodra je weer online bent",
      slowDown: "Je verstuurt veel tegelijk; je bericht is bewaard en gaat zo meteen alsnog weg.", tooFast: "Te veel pogingen vanaf hier op dit moment; probeer het zo nog eens. Wat je schreef staat er nog.", reconnecting: "Opnieuw verbinden…", ticket: "Ticket #{n}", tooLong: "Je bericht is te lang (max. {n} tekens).",
      you: "Jij", resolved: "Dit gesprek is als opgelost gemarkeerd. Schrijf gerust opnieuw.",
      help: "Hulpartikelen", searchHelp: "Zoek in de hulpartikelen…", suggested: "Misschien helpt dit", back: "Terug naar de chat", openFull: "Openen in de klantenservice", noArticles: "Geen artikelen gevonden. Vraag het ons in de chat!"
    }
  };

  function pickLocale() {
    var tags = [script.getAttribute("data-locale"), document.documentElement.lang]
      .concat(navigator.languages || [navigator.language]);
    for (var i = 0; i < tags.length; i++) {
      var p = (tags[i] || "").toLowerCase().split(/[-_]/)[0];
      if (p === "in") p = "id";
      if (TEXT[p]) return p;
    }
    return "en";
  }
  var LOCALE = pickLocale();
  function t(key, vars) {
    var s = TEXT[LOCALE][key] || TEXT.en[key];
    for (var k in vars || {}) s = s.split("{" + k + "}").join(vars[k]);
    return s;
  }

  // ---- persistent state ------------------------------------------------------------------
  function load() {
    try { return JSON.parse(localStorage.getItem(STORE_KEY)) || {}; } catch (e) { return {}; }
  }
  function session(key, value) {
    try {
      if (value === undefined) return sessionStorage.getItem(key);
      sessionStorage.setItem(key, value);
    } catch (e) { /* storage blocked: the panel just starts closed */ }
    return null;
  }
  var saved = load();
  var state = {
    token: saved.token || null,
    pending: saved.pending || [], // [{client_message_id, body}] not yet acknowledged
    conversation: null,
    lastSeq: 0,
    agentsOnline: 0,
    lastResponder: null, // {direction, name}
    messages: {}, // seq -> element
    offlineSent: saved.offlineSent || null,
    open: session(STORE_KEY + ":open") === "1",
    unread: 0
  };
  function persist() {
    try {
      localStorage.setItem(STORE_KEY, JSON.stringify({ token: state.token, pending: state.pending, offlineSent: state.offlineSent }));
    } catch (e) { /* private mode: the conversation lasts for this page only */ }
  }
  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "m-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 12);
  }

  // ---- DOM -------------------------------------------------------------------------------
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }

  var host = el("div");
  host.id = "layan-widget";
  var root = host.attachShadow({ mode: "open" });
  var style = el("style");
  style.textContent = [
    ":host{all:initial}",
    "[hidden]{display:none!important}",
    "*{box-sizing:border-box;font-family:system-ui,-apple-system,'Segoe UI',Roboto,'Noto Sans','Noto Sans Thai',sans-serif}",
    ".launcher{position:fixed;right:20px;bottom:20px;width:60px;height:60px;border-radius:50%;border:0;cursor:pointer;color:#fff;background:var(--c);box-shadow:0 6px 20px rgba(0,0,0,.25);display:flex;align-items:center;justify-content:center;z-index:2147483646;transition:transform .15s}",
    ".launcher:hover{transform:scale(1.06)}.launcher svg{width:28px;height:28px;fill:#fff}",
    ".badge{position:absolute;top:-2px;right:-2px;min-width:20px;height:20px;border-radius:10px;background:#e11d48;color:#fff;font-size:12px;line-height:20px;text-align:center;padding:0 5px}",
    ".panel{position:fixed;right:20px;bottom:92px;width:370px;height:min(600px,calc(100vh - 120px));background:#fff;border-radius:16px;box-shadow:0 12px 40px rgba(0,0,0,.25);display:flex;flex-direction:column;overflow:hidden;z-index:2147483647;color:#111827;font-size:15px}",
    ".panel[hidden]{display:none}",
    "header{background:var(--c);color:#fff;padding:14px 16px;display:flex;align-items:center;gap:10px}",
    "header .titles{flex:1;min-width:0}header h2{margin:0;font-size:16px;font-weight:650}",
    ".who{font-size:12.5px;opacity:.95;display:flex;align-items:center;gap:6px;margin-top:2px}",
    ".dot{width:8px;height:8px;border-radius:50%;background:#4ade80;display:inline-block}.dot.off{background:#d1d5db}.dot.bot{background:#fbbf24}",
    "header button{background:transparent;border:0;color:#fff;font-size:22px;cursor:pointer;line-height:1;padding:4px}",
    "header .helpbtn{font-size:15px;font-weight:700;width:28px;height:28px;border:2px solid rgba(255,255,255,.8);border-radius:50%;padding:0}",
    ".ticket{font-size:11.5px;opacity:.85}",
    ".log{flex:1;overflow-y:auto;padding:14px;display:flex;flex-direction:column;gap:8px;background:#f8fafc}",
    ".msg{max-width:82%;padding:9px 12px;border-radius:14px;white-space:pre-wrap;word-wrap:break-word;overflow-wrap:anywhere;line-height:1.4}",
    ".msg.in{align-self:flex-end;background:var(--c);color:#fff;border-bottom-right-radius:4px}",
    ".msg.out,.msg.bot,.msg.greet{align-self:flex-start;background:#fff;border:1px solid #e5e7eb;border-bottom-left-radius:4px}",
    ".msg.bot{border-color:#fde68a;background:#fffbeb}",
    ".quick{display:flex;flex-wrap:wrap;gap:6px;align-self:flex-start;max-width:100%}",
    ".quick button{border:1px solid var(--c);color:var(--c);background:#fff;border-radius:999px;padding:6px 12px;font-size:13.5px;cursor:pointer}",
    ".msg .links{display:flex;flex-direction:column;gap:4px;margin-top:6px}",
    ".msg .links a{color:var(--c);font-weight:600;text-decoration:underline;word-break:break-word}",
    ".botbar{display:flex;justify-content:flex-end;padding:4px 10px 0;background:#fff}",
    ".botbar button{border:0;background:none;color:#374151;font-size:13px;text-decoration:underline;cursor:pointer;padding:2px 4px}",
    ".msg.system{align-self:center;background:transparent;color:#6b7280;font-size:12.5px;text-align:center}",
    ".msg .by{display:block;font-size:11.5px;color:#6b7280;margin-bottom:2px}",
    ".msg.pending{opacity:.6}.msg.failed{background:#fee2e2;color:#991b1b}",
    ".msg .state{display:block;font-size:11px;margin-top:3px;opacity:.85}",
    ".typing{padding:0 16px 6px;font-size:12.5px;color:#6b7280;min-height:18px;background:#f8fafc}",
    ".status{font-size:12px;color:#92400e;background:#fef3c7;padding:4px 12px;text-align:center}",
    "form.compose{display:flex;gap:8px;padding:10px;border-top:1px solid #e5e7eb;background:#fff}",
    "textarea{flex:1;resize:none;border:1px solid #d1d5db;border-radius:10px;padding:9px 10px;font-size:15px;max-height:120px;min-height:40px;outline:none}",
    "textarea:focus,input:focus{border-color:var(--c);box-shadow:0 0 0 2px color-mix(in srgb,var(--c) 25%,transparent)}",
    "button.send{background:var(--c);color:#fff;border:0;border-radius:10px;padding:0 14px;font-weight:600;cursor:pointer}",
    "form.offline{padding:14px;display:flex;flex-direction:column;gap:8px;overflow-y:auto;border-top:1px solid #e5e7eb}",
    "form.offline p{margin:0 0 4px;color:#374151;font-size:14px}",
    "form.offline input,form.offline textarea{border:1px solid #d1d5db;border-radius:10px;padding:9px 10px;font-size:15px;width:100%}",
    "form.offline button{background:var(--c);color:#fff;border:0;border-radius:10px;padding:10px;font-weight:600;cursor:pointer}",
    ".err{color:#b91c1c;font-size:13px;min-height:16px}",
    ".suggest{padding:6px 10px 0;background:#fff;border-top:1px solid #e5e7eb}",
    ".suggest .label,.helpv .label{font-size:12px;color:#6b7280;margin:0 0 4px}",
    ".art{display:block;width:100%;text-align:left;background:#f1f5f9;border:0;border-radius:8px;padding:7px 10px;margin:0 0 5px;cursor:pointer;font-size:14px;color:#111827}",
    ".art:hover,.art:focus{background:#e2e8f0}.art small{display:block;color:#6b7280;font-size:12px;margin-top:2px}",
    ".helpv{flex:1;overflow-y:auto;padding:12px 14px;background:#fff}",
    ".helpv input{width:100%;border:1px solid #d1d5db;border-radius:10px;padding:9px 10px;font-size:15px;margin-bottom:10px;outline:none}",
    ".helpv .back{background:transparent;border:0;color:var(--c);cursor:pointer;padding:0 0 8px;font-size:14px}",
    ".reader h3{margin:0 0 8px;font-size:17px}.reader .body{font-size:14.5px;line-height:1.55;overflow-wrap:anywhere}",
    ".reader .body img{max-width:100%}.reader .body table{border-collapse:collapse;display:block;overflow-x:auto;font-size:13px}",
    ".reader .body td,.reader .body th{border:1px solid #e5e7eb;padding:3px 6px}.reader a.full{display:inline-block;margin-top:10px;color:var(--c)}",
    "@media (max-width:520px){.panel{right:0;bottom:0;width:100vw;height:100dvh;border-radius:0}.launcher{right:14px;bottom:14px}}"
  ].join("\n");
  root.appendChild(style);

  var launcher = el("button", "launcher");
  launcher.type = "button";
  launcher.setAttribute("aria-label", t("open"));
  launcher.innerHTML = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z"/></svg>';
  var badge = el("span", "badge");
  badge.hidden = true;
  launcher.appendChild(badge);

  var panel = el("section", "panel");
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", t("open"));
  panel.setAttribute("lang", LOCALE);
  panel.hidden = true;
  var header = el("header");
  var titles = el("div", "titles");
  var title = el("h2", null, "…");
  var who = el("div", "who");
  var dot = el("span", "dot");
  var whoText = el("span", "who-text");
  who.appendChild(dot); who.appendChild(whoText);
  var ticket = el("div", "ticket");
  titles.appendChild(title); titles.appendChild(who); titles.appendChild(ticket);
  var closeBtn = el("button", null, "×");
  closeBtn.type = "button";
  closeBtn.setAttribute("aria-label", t("close"));
  var helpBtn = el("button", "helpbtn", "?");
  helpBtn.type = "button";
  helpBtn.setAttribute("aria-label", t("help"));
  helpBtn.setAttribute("aria-pressed", "false");
  header.appendChild(titles); header.appendChild(helpBtn); header.appendChild(closeBtn);
  var status = el("div", "status");
  status.hidden = true;
  var log = el("div", "log");
  log.setAttribute("aria-live", "polite");
  var greeting = el("div", "msg greet");
  log.appendChild(greeting);
  var typing = el("div", "typing");
  var compose = el("form", "compose");
  var input = el("textarea");
  input.rows = 1;
  input.placeholder = t("placeholder");
  input.setAttribute("aria-label", t("placeholder"));
  input.maxLength = MAX_CHARS;
  var sendBtn = el("button", "send", t("send"));
  sendBtn.type = "submit";
  compose.appendChild(input); compose.appendChild(sendBtn);
  // With the answer bot on: a way to a person, always in sight.
  var botbar = el("div", "botbar");
  botbar.hidden = true;
  var personBtn = el("button", "person", t("talkToPerson"));
  personBtn.type = "button";
  botbar.appendChild(personBtn);

  var offline = el("form", "offline");
  offline.hidden = true;
  offline.appendChild(el("p", null, t("offlineIntro")));
  function field(tag, name, label, type) {
    var f = el(tag);
    f.name = name; f.placeholder = label; f.setAttribute("aria-label", label); f.required = true;
    if (type) f.type = type;
    offline.appendChild(f);
    return f;
  }
  var offName = field("input", "name", t("name"));
  var offEmail = field("input", "email", t("email"), "email");
  var offBody = field("textarea", "body", t("message"));
  offBody.rows = 4;
  offBody.maxLength = MAX_CHARS;
  var offErr = el("div", "err");
  offline.appendChild(offErr);
  var offBtn = el("button", null, t("leave"));
  offBtn.type = "submit";
  offline.appendChild(offBtn);

  // Help articles: suggestions above the composer while the shopper types, and a help view
  // (search box, results, an article reader) behind the "?" button.
  var suggest = el("div", "suggest");
  suggest.hidden = true;
  suggest.setAttribute("aria-live", "polite");
  var helpView = el("div", "helpv");
  helpView.hidden = true;
  var helpBack = el("button", "back", "← " + t("back"));
  helpBack.type = "button";
  var helpSearch = el("input");
  helpSearch.type = "search";
  helpSearch.placeholder = t("searchHelp");
  helpSearch.setAttribute("aria-label", t("searchHelp"));
  helpSearch.maxLength = 500;
  var helpResults = el("div", "results");
  var reader = el("div", "reader");
  reader.hidden = true;
  helpView.appendChild(helpBack); helpView.appendChild(helpSearch);
  helpView.appendChild(helpResults); helpView.appendChild(reader);

  panel.appendChild(header); panel.appendChild(status); panel.appendChild(log);
  panel.appendChild(helpView); panel.appendChild(typing); panel.appendChild(suggest);
  panel.appendChild(offline); panel.appendChild(botbar); panel.appendChild(compose);
  root.appendChild(panel); root.appendChild(launcher);

  function mount() { document.body.appendChild(host); }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);

  // ---- rendering -------------------------------------------------------------------------
  function scrollDown() { log.scrollTop = log.scrollHeight; }

  // Nobody online and no conversation going on: the widget offers "leave a message".
  function offlineMode() {
    return !state.bot && state.agentsOnline === 0 && !state.conversation && !state.offlineSent;
  }

  function updateHeader() {
    var r = state.lastResponder;
    dot.className = "dot";
    if (r && r.direction === "bot") {
      dot.className = "dot bot";
      whoText.textContent = t("bot");
    } else if (r && r.direction === "outgoing" && r.name) {
      whoText.textContent = t("personNamed", { name: r.name });
    } else if (state.agentsOnline > 0) {
      whoText.textContent = t("person");
    } else {
      dot.className = "dot off";
      whoText.textContent = t("away");
    }
    ticket.textContent = state.conversation ? t("ticket", { n: state.conversation.number }) : "";
    var showOffline = offlineMode();
    var reading = helpView && !helpView.hidden;
    offline.hidden = !showOffline || reading;
    compose.hidden = showOffline || reading;
    botbar.hidden = !state.bot || showOffline || reading;
  }

  function bubbleFor(m) {
    var cls = { incoming: "in", outgoing: "out", bot: "bot", system: "system" }[m.direction] || "out";
    var b = el("div", "msg " + cls);
    if (m.direction === "outgoing" || m.direction === "bot") {
      b.appendChild(el("span", "by", m.author_name || (m.direction === "bot" ? "Bot" : t("someone"))));
    }
    b.appendChild(el("span", "text", m.body));
    if (m.links && m.links.length) {
      var links = el("span", "links");
      m.links.forEach(function (l) {
        var href = safeHref(l.url);
        if (!href) return;
        var a = el("a", null, l.title);
        a.href = href; a.target = "_blank"; a.rel = "noopener noreferrer";
        links.appendChild(a);
      });
      b.appendChild(links);
    }
    b.setAttribute("data-seq", String(m.seq));
    return b;
  }

  // Help-center paths are the Layan server's; anything else must be a web address.
  function safeHref(url) {
    if (typeof url !== "string") return null;
    if (/^\/[^\/\\]/.test(url)) return BASE + url;
    return /^https?:\/\//i.test(url) ? url : null;
  }

  // The bot's quick replies under its latest message; tapping one sends its words.
  function showQuick(m) {
    var old = log.querySelector(".quick");
    if (old) old.remove();
    if (!m || !m.buttons || !m.buttons.length || m.seq < state.lastSeq) return;
    var q = el("div", "quick");
    m.buttons.forEach(function (label) {
      var btn = el("button", null, label);
      btn.type = "button";
      btn.addEventListener("click", function () { q.remove(); send(label); });
      q.appendChild(btn);
    });
    log.insertBefore(q, firstPending());
  }

  function showMessage(m) {
    if (!state.conversation || m.conversation_id !== state.conversation.id) {
      if (state.conversation && m.conversation_id < state.conversation.id) return;
      // A new conversation (after a closed one): start a fresh log.
      state.conversation = { id: m.conversation_id, number: (state.conversation || {}).number };
      clearLog();
    }
    if (state.messages[m.seq]) return; // already shown
    var pending = m.client_message_id && log.querySelector('[data-client-id="' + cssEscape(m.client_message_id) + '"]');
    var b = bubbleFor(m);
    if (pending) {
      log.replaceChild(b, pending);
    } else {
      // Keep order by sequence number even if a gap is filled late.
      var after = null;
      var nodes = log.querySelectorAll("[data-seq]");
      for (var i = 0; i < nodes.length; i++) {
        if (Number(nodes[i].getAttribute("data-seq")) > m.seq) { after = nodes[i]; break; }
      }
      log.insertBefore(b, after || firstPending());
    }
    state.messages[m.seq] = b;
    var newest = m.seq > state.lastSeq;
    if (newest) state.lastSeq = m.seq;
    if (newest) showQuick(m);
    if (m.direction === "outgoing" || m.direction === "bot") {
      state.lastResponder = { direction: m.direction, name: m.author_name };
      typing.textContent = "";
      if (!state.open) { state.unread++; badge.textContent = String(state.unread); badge.hidden = false; }
    }
    updateHeader();
    scrollDown();
  }

  function firstPending() { return log.querySelector("[data-client-id]"); }
  function cssEscape(s) { return String(s).replace(/["\\]/g, "\\$&"); }

  function clearLog() {
    state.messages = {};
    state.lastSeq = 0;
    state.lastResponder = null;
    var nodes = log.querySelectorAll("[data-seq]");
    for (var i = 0; i < nodes.length; i++) nodes[i].remove();
    var quick = log.querySelector(".quick");
    if (quick) quick.remove();
  }

  function showPending(p) {
    if (log.querySelector('[data-client-id="' + cssEscape(p.client_message_id) + '"]')) return;
    var b = el("div", "msg in pending");
    b.setAttribute("data-client-id", p.client_message_id);
    b.appendChild(el("span", "text", p.body));
    b.appendChild(el("span", "state", t("sending")));
    log.appendChild(b);
    scrollDown();
  }

  function failPending(clientId, message) {
    state.pending = state.pending.filter(function (p) { return p.client_message_id !== clientId; });
    persist();
    var b = log.querySelector('[data-client-id="' + cssEscape(clientId) + '"]');
    if (b) {
      b.className = "msg in failed";
      var s = b.querySelector(".state");
      if (s) s.textContent = t("failed") + ": " + message;
    }
  }

  // ---- connection ------------------------------------------------------------------------
  var ws = null, ready = false, attempt = 0, pingTimer = null, started = false, identityEnded = false, askedPage = false;

  // The signed-in session ended with its identity: ask the page for a fresh one, then start
  // again with the same token (the server renews it for the same shopper, or makes an anonymous
  // visitor when there is no identity).
  function renewIdentity() {
    var ask = window.layanIdentity;
    var fresh;
    try { fresh = Promise.resolve(typeof ask === "function" ? ask() : null); } catch (e) { fresh = Promise.resolve(null); }
    fresh.catch(function () { return null; }).then(function (jwt) {
      IDENTITY = typeof jwt === "string" && jwt ? jwt : null;
      started = false;
      start();
    });
  }

  function api(path, body) {
    var headers = { "Content-Type": "application/json" };
    if (state.token) { headers.Authorization = "Bearer " + state.token; headers["X-Layan-Inbox"] = KEY; }
    return fetch(BASE + path, { method: "POST", headers: headers, body: JSON.stringify(body) })
      .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, status: r.status, body: j }; }); });
  }

  function start() {
    if (started) return;
    started = true;
    api("/api/v1/widget/session", { key: KEY, token: state.token, locale: LOCALE, identity: IDENTITY }).then(function (r) {
      if (!r.ok && r.status === 401 && IDENTITY && !askedPage && typeof window.layanIdentity === "function") {
        // The page's token expired (a page open for hours): ask it for a fresh one, once.
        askedPage = true; started = false; renewIdentity(); return;
      }
      if (!r.ok && r.status === 401 && IDENTITY) {
        // The shop's identity token was refused (expired, misconfigured): chat anonymously.
        if (window.console) console.warn("Layan: " + (r.body.error ? r.body.error.message : "identity refused") + "; continuing anonymously");
        IDENTITY = null; started = false; start(); return;
      }
      if (!r.ok) {
        started = false; status.textContent = r.status === 429 ? t("tooFast") : (r.body.error ? r.body.error.message : "error"); status.hidden = false;
        // Too many new chats from this address (a shared network): try again by itself.
        if (r.status === 429) setTimeout(function () { if (!started && state.open) { status.hidden = true; start(); } }, 30000);
        return;
      }
      if (state.token && r.body.token !== state.token && !r.body.renewed) {
        // Another person's session (signed in, out, or as someone else): what the previous one
        // had not sent yet, and the conversation on screen, are theirs, not this person's.
        state.pending = []; state.offlineSent = null; state.conversation = null; clearLog();
      }
      state.token = r.body.token;
      askedPage = false;
      persist();
      title.textContent = r.body.inbox.name;
      greeting.textContent = r.body.inbox.greeting;
      host.style.setProperty("--c", r.body.inbox.color);
      panel.style.setProperty("--c", r.body.inbox.color);
      launcher.style.setProperty("--c", r.body.inbox.color);
      state.agentsOnline = r.body.agents_online;
      state.bot = r.body.inbox.bot || null;
      state.conversation = r.body.conversation;
      state.pending.forEach(showPending);
      updateHeader();
      connect();
    }).catch(function () { started = false; setTimeout(start, backoff()); });
  }

  function backoff() {
    attempt++;
    var base = Math.min(10000, 500 * Math.pow(2, attempt - 1));
    return base / 2 + Math.random() * base / 2;
  }

  function connect() {
    ready = false;
    ws = new WebSocket(WS_BASE + "/api/v1/widget/ws");
    ws.onopen = function () {
      ws.send(JSON.stringify({
        type: "hello", key: KEY, token: state.token,
        conversation_id: state.conversation ? state.conversation.id : null,
        after_seq: state.lastSeq
      }));
    };
    ws.onmessage = function (ev) {
      var f;
      try { f = JSON.parse(ev.data); } catch (e) { return; }
      handle(f);
    };
    ws.onclose = function (ev) {
      ready = false;
      clearInterval(pingTimer);
      if (ev.code === 4401 && identityEnded) { identityEnded = false; renewIdentity(); return; }
      if (ev.code === 4401) { state.token = null; persist(); started = false; setTimeout(start, 500); return; }
      status.textContent = t("reconnecting");
      status.hidden = false;
      setTimeout(connect, backoff());
    };
  }

  function handle(f) {
    switch (f.type) {
      case "ready":
        ready = true;
        attempt = 0;
        status.hidden = true;
        state.agentsOnline = f.agents_online;
        if (f.conversation) {
          if (state.conversation && state.conversation.id !== f.conversation.id) clearLog();
          state.conversation = f.conversation;
        }
        updateHeader();
        // Resend what was never acknowledged: same ids, so nothing is stored twice.
        state.pending.forEach(function (p) {
          ws.send(JSON.stringify({ type: "send", client_message_id: p.client_message_id, body: p.body }));
        });
        clearInterval(pingTimer);
        pingTimer = setInterval(function () { if (ready) ws.send('{"type":"ping"}'); }, 25000);
        break;
      case "message":
        showMessage(f.message);
        break;
      case "ack":
        state.pending = state.pending.filter(function (p) { return p.client_message_id !== f.client_message_id; });
        persist();
        if (f.conversation) state.conversation = f.conversation;
        if (f.message) showMessage(f.message);
        break;
      case "conversation":
        if (state.conversation && f.conversation.id === state.conversation.id) {
          var was = state.conversation.status;
          state.conversation = f.conversation;
          if (was !== "resolved" && f.conversation.status === "resolved") typing.textContent = "";
        }
        updateHeader();
        break;
      case "typing":
        typing.textContent = f.on ? t("typing", { name: f.name || t("someone") }) : "";
        break;
      case "presence":
        state.agentsOnline = f.agents_online;
        updateHeader();
        break;
      case "error":
        if (f.code === "identity_expired") identityEnded = true;
        if (!f.client_message_id) break;
        if (f.code === "rate_limited") {
          // Too many too fast: nothing was stored. Keep it pending and send it again once the
          // server says it may.
          var later = state.pending.filter(function (p) { return p.client_message_id === f.client_message_id; })[0];
          status.textContent = t("slowDown");
          status.hidden = false;
          if (!later) break;
          setTimeout(function () {
            status.hidden = true;
            if (ready) ws.send(JSON.stringify({ type: "send", client_message_id: later.client_message_id, body: later.body }));
          }, Math.max(1, f.retry_after || 5) * 1000);
          break;
        }
        if (f.code === "database_unavailable" || f.code === "internal") {
          // Nothing was stored: keep it pending and send it again shortly, with the same id,
          // up to five times; then show it as not sent.
          var again = state.pending.filter(function (p) { return p.client_message_id === f.client_message_id; })[0];
          if (again) again.tries = (again.tries || 0) + 1;
          if (!again || again.tries > 5) { failPending(f.client_message_id, f.message); break; }
          setTimeout(function () {
            if (ready) ws.send(JSON.stringify({ type: "send", client_message_id: again.client_message_id, body: again.body }));
          }, 2000);
          break;
        }
        failPending(f.client_message_id, f.code === "message_too_long" ? t("tooLong", { n: MAX_CHARS }) : f.message);
        break;
    }
  }

  function send(body) {
    if (!body.trim()) return;
    if (body.length > MAX_CHARS) { failPending("", t("tooLong", { n: MAX_CHARS })); return; }
    var p = { client_message_id: uuid(), body: body };
    state.pending.push(p);
    persist(); // kept until acknowledged, across reloads and reconnects
    showPending(p);
    if (ready) ws.send(JSON.stringify({ type: "send", client_message_id: p.client_message_id, body: body }));
  }

  // ---- events ----------------------------------------------------------------------------
  function setOpen(open) {
    state.open = open;
    session(STORE_KEY + ":open", open ? "1" : "0");
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", String(open));
    if (open) {
      state.unread = 0; badge.hidden = true;
      start();
      setTimeout(function () { (compose.hidden ? offName : input).focus(); scrollDown(); }, 0);
    }
  }
  launcher.addEventListener("click", function () { setOpen(!state.open); });
  personBtn.addEventListener("click", function () { send(t("talkToPerson")); });
  closeBtn.addEventListener("click", function () { setOpen(false); });

  var typingOn = false, typingTimer = null;
  function sendTyping(on) {
    if (typingOn === on || !ready) return;
    typingOn = on;
    ws.send(JSON.stringify({ type: "typing", on: on }));
  }
  input.addEventListener("input", function () {
    if (!state.conversation) return;
    sendTyping(input.value.length > 0);
    clearTimeout(typingTimer);
    typingTimer = setTimeout(function () { sendTyping(false); }, 3000);
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); compose.requestSubmit(); }
  });
  compose.addEventListener("submit", function (e) {
    e.preventDefault();
    var body = input.value;
    input.value = "";
    sendTyping(false);
    send(body);
  });

  // ---- help articles ---------------------------------------------------------------------
  function helpGet(path) {
    return fetch(BASE + path).then(function (r) {
      if (!r.ok) throw new Error("help " + r.status);
      return r.json();
    });
  }
  function searchArticles(q, limit) {
    return helpGet("/api/v1/widget/help/search?locale=" + LOCALE + "&limit=" + limit + "&q=" + encodeURIComponent(q))
      .then(function (j) { return j.results || []; });
  }
  function articleButton(a) {
    var b = el("button", "art", a.title);
    b.type = "button";
    b.setAttribute("data-slug", a.slug);
    if (a.excerpt) b.appendChild(el("small", null, a.excerpt));
    b.addEventListener("click", function () { openArticle(a.slug); });
    return b;
  }
  var chatParts = [log, typing, suggest];
  function showHelp(on) {
    helpView.hidden = !on;
    helpBtn.setAttribute("aria-pressed", String(on));
    chatParts.forEach(function (p) { p.hidden = on || (p === suggest && !suggest.firstChild); });
    if (on) { compose.hidden = true; offline.hidden = true; } else { updateHeader(); }
  }
  function openArticle(slug) {
    showHelp(true);
    reader.hidden = false;
    helpResults.hidden = true;
    helpSearch.hidden = true;
    reader.textContent = "…";
    helpGet("/api/v1/widget/help/articles/" + encodeURIComponent(slug) + "?locale=" + LOCALE).then(function (a) {
      reader.textContent = "";
      reader.appendChild(el("h3", null, a.title));
      var body = el("div", "body");
      // Sanitised on the server (no script, no event handlers, safe links only).
      body.innerHTML = a.html;
      body.querySelectorAll("a").forEach(function (link) { link.target = "_blank"; link.rel = "noopener noreferrer"; });
      reader.appendChild(body);
      var full = el("a", "full", t("openFull"));
      full.href = BASE + a.url; full.target = "_blank"; full.rel = "noopener";
      reader.appendChild(full);
    }).catch(function () { reader.textContent = t("noArticles"); });
  }
  function listResults(q) {
    helpResults.textContent = "";
    searchArticles(q, 8).then(function (list) {
      helpResults.textContent = "";
      if (!list.length) { helpResults.appendChild(el("p", "label", t("noArticles"))); return; }
      list.forEach(function (a) { helpResults.appendChild(articleButton(a)); });
    }).catch(function () { helpResults.textContent = ""; });
  }
  // Where the shopper types: the chat, or the "leave a message" form when nobody is online.
  function typingBox() {
    return offlineMode() ? offBody : input;
  }
  helpBtn.addEventListener("click", function () {
    var on = helpView.hidden;
    showHelp(on);
    if (on) {
      reader.hidden = true; helpResults.hidden = false; helpSearch.hidden = false;
      helpSearch.focus();
      var typed = typingBox().value.trim();
      if (!helpSearch.value && typed) helpSearch.value = typed;
      if (helpSearch.value) listResults(helpSearch.value);
    }
  });
  helpBack.addEventListener("click", function () {
    if (!reader.hidden && !helpSearch.value) { showHelp(false); typingBox().focus(); return; }
    if (!reader.hidden) { reader.hidden = true; helpResults.hidden = false; helpSearch.hidden = false; return; }
    showHelp(false);
    typingBox().focus();
  });
  var helpTimer = null;
  helpSearch.addEventListener("input", function () {
    clearTimeout(helpTimer);
    var q = helpSearch.value.trim();
    helpTimer = setTimeout(function () { if (q) listResults(q); else helpResults.textContent = ""; }, 250);
  });
  // Suggestions as the shopper types a question — in the chat, or in "leave a message" when
  // nobody is online (not once a conversation is under way).
  var suggestTimer = null, suggestFor = "";
  function clearSuggest() { suggest.textContent = ""; suggest.hidden = true; suggestFor = ""; }
  function suggestWhileTyping(box) {
    box.addEventListener("input", function () {
      clearTimeout(suggestTimer);
      var q = box.value.trim();
      if (q.length < 3 || (state.conversation && state.lastResponder)) { clearSuggest(); return; }
      suggestTimer = setTimeout(function () {
        suggestFor = q;
        searchArticles(q, 3).then(function (list) {
          if (suggestFor !== q) return;
          suggest.textContent = "";
          if (!list.length) { suggest.hidden = true; return; }
          suggest.appendChild(el("p", "label", t("suggested")));
          list.forEach(function (a) { suggest.appendChild(articleButton(a)); });
          suggest.hidden = false;
        }).catch(clearSuggest);
      }, 300);
    });
  }
  suggestWhileTyping(input);
  suggestWhileTyping(offBody);
  offline.addEventListener("submit", clearSuggest);
  compose.addEventListener("submit", clearSuggest);

  offline.addEventListener("submit", function (e) {
    e.preventDefault();
    offErr.textContent = "";
    offBtn.disabled = true;
    var id = uuid();
    var email = offEmail.value.trim();
    api("/api/v1/widget/offline-messages", {
      name: offName.value, email: email, body: offBody.value, client_message_id: id
    }).then(function (r) {
      offBtn.disabled = false;
      // The form keeps what was typed; too many too fast says so in the shopper's language.
      if (!r.ok) { offErr.textContent = r.status === 429 ? t("tooFast") : (r.body.error ? r.body.error.message : "error"); return; }
      state.offlineSent = email;
      state.conversation = r.body.conversation;
      persist();
      showMessage(r.body.message);
      var thanks = el("div", "msg system", t("thanks", { email: email }));
      log.appendChild(thanks);
      updateHeader();
      scrollDown();
    }).catch(function () { offBtn.disabled = false; offErr.textContent = t("failed"); });
  });

  // Returning visitors with a conversation connect at once, so replies arrive (and the badge
  // counts them) even while the panel is closed.
  if (state.token || state.pending.length) start();
  if (state.open) setOpen(true);
})();
