// Layan agent inbox. Plain JavaScript, no build step.
// Rule: anything a customer or agent wrote goes into the page with textContent (or a form
// field's value), never innerHTML.
(function () {
  "use strict";
  var CSRF = document.querySelector('meta[name="csrf-token"]').content;
  var listEl = document.getElementById("conversations");
  var mainEl = document.getElementById("conversation");
  var connEl = document.getElementById("conn");
  var notifyBtn = document.getElementById("notify-btn");
  var settingsBtn = document.getElementById("settings-btn");
  var settingsDlg = document.getElementById("settings");
  var notesDlg = document.getElementById("notifications");
  var bellBtn = document.getElementById("bell");
  var bellCount = document.getElementById("bell-count");
  var awayBtn = document.getElementById("away-btn");
  var langSelect = document.getElementById("lang-select");
  var searchEl = document.getElementById("search");
  var statusEl = document.getElementById("status-filter");
  var sortEl = document.getElementById("sort");
  var bulkEl = document.getElementById("bulk");
  var labelEl = document.getElementById("label-filter");
  var prioEl = document.getElementById("priority-filter");

  // ---- the agent's language ----------------------------------------------------------------
  var STRINGS = {
    en: {
      edit: "Edit",
      emailFrom: "From {a}", emailCc: "Cc {a}", showOriginal: "Show the original email", hideOriginal: "Hide the original email", delivery_queued: "Sending…", delivery_sent: "Sent by email", delivery_sent_partly: "Sent by email; not delivered to {d}", delivery_failed: "Not delivered: {d}", delivery_bounced: "Bounced: {d}", attachmentsWord: "Attachments",
      tabBot: "Bot", botInboxes: "Answers in", botName: "Bot name", botTone: "Tone", toneFriendly: "Friendly", toneFormal: "Formal", botGreeting: "Greeting ({l}); {name} is the shopper's first name", botGreetingDefault: "(built-in greeting)", botThreshold: "Handoff threshold (0.05–0.95): below it the bot does not guess", hoursTitle: "Business hours (inside them the bot hands over to the queue; outside, it takes a message)", utcOffset: "Time zone: minutes from UTC (Jakarta and Bangkok 420)", opens: "opens", closes: "closes", day_mon: "Monday", day_tue: "Tuesday", day_wed: "Wednesday", day_thu: "Thursday", day_fri: "Friday", day_sat: "Saturday", day_sun: "Sunday", hoursNone: "No day ticked: always open.", phrasesTitle: "Training phrases", intent: "Intent", builtinPhrases: "Built in:", shopPhrases: "Your phrases, one per line", llmTitle: "Language model (optional)", llmUrl: "OpenAI-compatible API address", llmModel: "Model", llmKey: "API key", llmTimeout: "Timeout (ms)", llmNote: "Answers are written only from your help center and the shopper's own order, with sources; anything else falls back to the help-center passage.", trySentence: "Try a sentence", tryBtn: "Try", tryResult: "{i} ({c}%, {l})", botStats: "Last 30 days: {n} conversations with the bot, {h} handed over, {e} ended by the shopper, mean rating {r}.", botIntent: "Bot: {i} · {c}% · {l}", botGenerated: "written by the language model", botHandoff: "handed over: {r}", fileNotKept: "{n} ({s}) was too large to keep", event_mail_answers_other_ticket: "This mail answers #{t} but comes from {a}, who is not part of that ticket, so it opened this conversation. Nobody it copies gets replies unless an agent adds them.", unverified: "not verified", botOffered: "Offered: {b}",
      tabEmail: "Email", connectMailbox: "Connect a mailbox", inboxName: "Inbox name", emailAddress: "Support address", fromName: "Name on replies", imapServer: "Incoming mail (IMAP)", smtpServer: "Outgoing mail (SMTP)", host: "Server", port: "Port", security: "Security", username: "User name", password: "Password", folder: "Folder", perHour: "Most mails per sender per hour", checkNow: "Check now", fetchedN: "{n} new mails", lastFetch: "Last check: {when}", fetchFailed: "Last check failed: {e}", receivedMail: "Received mail", reprocess: "Read again", rawMail: "Download", noMailServer: "none",
      net_blocked: "the server's address is a private or local one, which Layan does not connect to unless the outbound_allow setting names it", net_not_found: "the server's name was not found", net_refused: "the server refused or closed the connection", net_timed_out: "the server did not answer in time", net_tls: "a secure (TLS) connection could not be made", net_auth: "the server refused the user name or password", net_protocol: "the server's answer was not what was expected", retrying: "trying again",
      attach: "Attach a file", removeFile: "Remove {name}",
      customer: "Customer", orderCount: "{n} orders", identities: "Known as", notes: "Notes", saveNotes: "Save notes", saved: "Saved", maybeSame: "Possibly the same customer", sameEmail: "same email", samePhone: "same phone", sameName: "same name", mergeHere: "Merge into this customer", mergeConfirm: "Merge {name} into this customer? Their conversations, identities and orders move here.", history: "History", conversationWord: "Conversation", orderWord: "Order",
      inDoubt_refund: "A refund was sent and the store did not answer: it may have been done. Refunding again first asks the store.", inDoubt_cancel: "A cancellation was sent and the store did not answer: it may have been done. Cancelling again first asks the store.", inDoubt_resend: "A replacement was sent and the store did not answer: it may have been made. Sending again first asks the store.", err_store_no_answer: "The store did not answer in time: it may have done this. Check the order; trying again first asks the store, so nothing is done twice.", err_already_done: "The store had already done this (an earlier request); it was not sent again.", err_action_in_progress: "This action is already under way; wait for its answer.", err_still_in_doubt: "The store has not answered the earlier request yet and may still carry it out: nothing was sent. Try again in a few minutes.",
      refund: "Refund", refundPrompt: "Amount to refund (empty: the whole order, {total})", cancelOrder: "Cancel order", cancelConfirm: "Cancel {n} in the store?", resend: "Send again", resendConfirm: "Create a free replacement order for {n}?",
      orders: "Orders", noOrders: "No orders from this customer yet.", track: "Track parcel", items: "{n} items",
      tabHelp: "Help center", articles: "Articles", newArticle: "New article", slug: "Address (slug)", category: "Category", noCategory: "No category", draft: "Draft", published: "Published", status: "Status", markdownText: "Text (Markdown)", view: "View", policy: "Shipping and returns policy", policyNote: "The policy as JSON (processing days, delivery options with days and cost, duties, PO boxes, returns…). It is checked when you save; the page shows it in each language.", deleteTranslation: "Delete this language", missingLang: "not written",
      tabJobs: "Background jobs", retry: "Retry",
      tabMe: "My account", tabCanned: "Canned responses", tabInboxes: "Inboxes", tabPeople: "People & teams", tabAudit: "Audit log",
      changePassword: "Change password", currentPassword: "Current password", newPassword: "New password (10+ characters)",
      passwordNote: "Changing it signs you out everywhere else.", apiTokens: "API tokens", apiTokensNote: "For scripts: send Authorization: Bearer <token>. Shown once.",
      tokenSurvives: "Keep working after my password changes (for an integration)", survivesTag: "survives a password change", deactivate: "Deactivate", activate: "Activate", deactivated: "deactivated", confirmDeactivate: "Deactivate {name}? They are signed out everywhere, their API tokens stop working and their open conversations go back to the queue.",
      err_wrong_current_password: "The current password is not right.", err_current_password_required: "Give your current password for a token that survives a password change.", err_assignee_deactivated: "This account is deactivated.",
      revoke: "Revoke", tokenName: "Token name", createToken: "Create token", cannedNote: "Type / then the shortcut in the reply box. Variables: {{contact.first_name}}, {{contact.name}}, {{agent.first_name}}, {{agent.name}}, {{conversation.number}}, {{order.number}}, {{order.status}}, {{order.total}}, {{order.tracking_url}}; a fallback after |.",
      personal: "personal", shared: "shared", delete: "Delete", newCanned: "New canned response", anyLanguage: "Any language (default)",
      shortcut: "Shortcut", language: "Language", title: "Title", text: "Text", sharedWithAll: "Shared with every agent",
      members: "Members", capacityShort: "capacity", newAgent: "New agent", name: "Name", role: "Role", teams: "Teams", newTeam: "New team name",
      connecting: "connecting…", live: "live", reconnecting: "reconnecting…", enableNotifications: "Enable notifications",
      online: "Online", away: "Away", settings: "Settings", signOut: "Sign out", mine: "Mine", unassigned: "Unassigned",
      myTeam: "My team", all: "All", newest: "Newest", longestWaiting: "Longest waiting", resolve: "Resolve", reopen: "Reopen",
      assignToMe: "Assign to me", addLabel: "Label", selectConversation: "Select a conversation",
      newChatsAppear: "New chats appear on the left the moment a shopper writes.", nothingHere: "Nothing here. Enjoy the quiet ☕",
      reply: "Reply", privateNote: "Private note", send: "Send", replyPlaceholder: "Write a reply… (Enter to send, Shift+Enter for a new line, / for canned responses)",
      notePlaceholder: "Private note — only agents see this. @name notifies a colleague.", waiting: "waiting {t}",
      unassignedShort: "unassigned", noTeam: "No team", priority: "Priority", pending: "Pending", snooze: "Snooze…",
      snooze1h: "1 hour", snoozeTomorrow: "Tomorrow 9:00", snoozeWeek: "Next week", close: "Close", merge: "Merge into…",
      mergePrompt: "Merge into which ticket number of the same customer? (e.g. 1002)", viewing: "{names} also viewing",
      typingAgent: "{name} is typing…", customerTyping: "Customer is typing…", notSent: "Not sent: {e}",
      labelPrompt: "Label (letters, digits, - and _)", notifications: "Notifications", noNotifications: "No notifications yet.",
      mention: "{who} mentioned you in {n}", assigned: "{n} was assigned to you", markAllRead: "Mark all read",
      privateTag: "private note", saved: "Saved", selected: "{n} selected", mergedInto: "Merged into {n}", mergedFrom: "Merged from {n}",
      search: "Search", cannedNone: "No canned response starts with that.", shortcuts: "Shortcuts: j/k next/previous · r reply · n note · e resolve · a assign to me · / search",
      chatWidget: "Chat widget", embed: "Paste this into every page of your shop, just before </body>:", greeting: "Greeting",
      colour: "Colour", save: "Save", routing: "Automatic assignment", rrNone: "Off (first to reply takes it)", rr: "Round-robin",
      ll: "Least loaded", reassign: "Return an offline agent's open conversations to the queue", ack: "Acknowledge new conversations with the ticket number",
      responseMinutes: "Promised reply time (minutes)", capacity: "My capacity (open conversations)", closeBtn: "Close", bot: "Bot"
    },
    id: {
      edit: "Ubah",
      emailFrom: "Dari {a}", emailCc: "Cc {a}", showOriginal: "Tampilkan email asli", hideOriginal: "Sembunyikan email asli", delivery_queued: "Mengirim…", delivery_sent: "Terkirim lewat email", delivery_sent_partly: "Terkirim lewat email; tidak terkirim ke {d}", delivery_failed: "Tidak terkirim: {d}", delivery_bounced: "Ditolak: {d}", attachmentsWord: "Lampiran",
      tabBot: "Bot", botInboxes: "Menjawab di", botName: "Nama bot", botTone: "Gaya bahasa", toneFriendly: "Santai", toneFormal: "Formal", botGreeting: "Sapaan ({l}); {name} adalah nama depan pembeli", botGreetingDefault: "(sapaan bawaan)", botThreshold: "Ambang serah ke agen (0,05–0,95): di bawahnya bot tidak menebak", hoursTitle: "Jam kerja (di dalamnya bot menyerahkan ke antrean; di luar, bot mencatat pesan)", utcOffset: "Zona waktu: menit dari UTC (Jakarta dan Bangkok 420)", opens: "buka", closes: "tutup", day_mon: "Senin", day_tue: "Selasa", day_wed: "Rabu", day_thu: "Kamis", day_fri: "Jumat", day_sat: "Sabtu", day_sun: "Minggu", hoursNone: "Tidak ada hari dicentang: selalu buka.", phrasesTitle: "Frasa latihan", intent: "Maksud", builtinPhrases: "Bawaan:", shopPhrases: "Frasa Anda, satu per baris", llmTitle: "Model bahasa (opsional)", llmUrl: "Alamat API yang kompatibel dengan OpenAI", llmModel: "Model", llmKey: "Kunci API", llmTimeout: "Batas waktu (ms)", llmNote: "Jawaban hanya ditulis dari pusat bantuan Anda dan pesanan pembeli sendiri, dengan sumber; selain itu kembali ke kutipan pusat bantuan.", trySentence: "Coba sebuah kalimat", tryBtn: "Coba", tryResult: "{i} ({c}%, {l})", botStats: "30 hari terakhir: {n} percakapan dengan bot, {h} diserahkan, {e} diakhiri pembeli, nilai rata-rata {r}.", botIntent: "Bot: {i} · {c}% · {l}", botGenerated: "ditulis oleh model bahasa", botHandoff: "diserahkan: {r}", fileNotKept: "{n} ({s}) terlalu besar untuk disimpan", event_mail_answers_other_ticket: "Email ini membalas #{t}, tetapi dikirim oleh {a} yang bukan bagian dari tiket itu, jadi membuka percakapan ini. Orang yang ditembuskan tidak menerima balasan kecuali agen menambahkannya.", unverified: "belum diverifikasi", botOffered: "Ditawarkan: {b}",
      tabEmail: "Email", connectMailbox: "Hubungkan kotak surat", inboxName: "Nama kotak masuk", emailAddress: "Alamat dukungan", fromName: "Nama pada balasan", imapServer: "Email masuk (IMAP)", smtpServer: "Email keluar (SMTP)", host: "Server", port: "Port", security: "Keamanan", username: "Nama pengguna", password: "Kata sandi", folder: "Folder", perHour: "Maks. email per pengirim per jam", checkNow: "Periksa sekarang", fetchedN: "{n} email baru", lastFetch: "Terakhir diperiksa: {when}", fetchFailed: "Pemeriksaan terakhir gagal: {e}", receivedMail: "Email diterima", reprocess: "Baca ulang", rawMail: "Unduh", noMailServer: "tidak ada",
      net_blocked: "alamat server ini privat atau lokal; Layan tidak terhubung ke sana kecuali disebut di pengaturan outbound_allow", net_not_found: "nama server tidak ditemukan", net_refused: "server menolak atau menutup koneksi", net_timed_out: "server tidak menjawab tepat waktu", net_tls: "koneksi aman (TLS) tidak dapat dibuat", net_auth: "server menolak nama pengguna atau kata sandi", net_protocol: "jawaban server tidak sesuai yang diharapkan", retrying: "mencoba lagi",
      attach: "Lampirkan berkas", removeFile: "Hapus {name}",
      customer: "Pelanggan", orderCount: "{n} pesanan", identities: "Dikenal sebagai", notes: "Catatan", saveNotes: "Simpan catatan", saved: "Tersimpan", maybeSame: "Mungkin pelanggan yang sama", sameEmail: "email sama", samePhone: "telepon sama", sameName: "nama sama", mergeHere: "Gabungkan ke pelanggan ini", mergeConfirm: "Gabungkan {name} ke pelanggan ini? Percakapan, identitas, dan pesanannya pindah ke sini.", history: "Riwayat", conversationWord: "Percakapan", orderWord: "Pesanan",
      inDoubt_refund: "Refund sudah dikirim dan toko tidak menjawab: mungkin sudah dilakukan. Refund lagi akan menanyakan toko dulu.", inDoubt_cancel: "Pembatalan sudah dikirim dan toko tidak menjawab: mungkin sudah dilakukan. Membatalkan lagi akan menanyakan toko dulu.", inDoubt_resend: "Pengiriman ulang sudah dikirim dan toko tidak menjawab: mungkin sudah dibuat. Mengirim lagi akan menanyakan toko dulu.", err_store_no_answer: "Toko tidak menjawab tepat waktu: mungkin sudah dilakukan. Periksa pesanan; mencoba lagi akan menanyakan toko dulu, jadi tidak ada yang dilakukan dua kali.", err_already_done: "Toko sudah melakukan ini (permintaan sebelumnya); tidak dikirim lagi.", err_action_in_progress: "Tindakan ini sedang berjalan; tunggu jawabannya.", err_still_in_doubt: "Toko belum menjawab permintaan sebelumnya dan mungkin masih memprosesnya: tidak ada yang dikirim. Coba lagi beberapa menit lagi.",
      refund: "Refund", refundPrompt: "Jumlah refund (kosong: seluruh pesanan, {total})", cancelOrder: "Batalkan pesanan", cancelConfirm: "Batalkan {n} di toko?", resend: "Kirim ulang", resendConfirm: "Buat pesanan pengganti gratis untuk {n}?",
      orders: "Pesanan", noOrders: "Belum ada pesanan dari pelanggan ini.", track: "Lacak paket", items: "{n} barang",
      tabHelp: "Pusat bantuan", articles: "Artikel", newArticle: "Artikel baru", slug: "Alamat (slug)", category: "Kategori", noCategory: "Tanpa kategori", draft: "Draf", published: "Terbit", status: "Status", markdownText: "Teks (Markdown)", view: "Lihat", policy: "Kebijakan pengiriman dan pengembalian", policyNote: "Kebijakan dalam JSON (hari pemrosesan, pilihan pengiriman dengan hari dan biaya, bea, PO box, pengembalian…). Diperiksa saat disimpan; halamannya tampil dalam tiap bahasa.", deleteTranslation: "Hapus bahasa ini", missingLang: "belum ditulis",
      tabJobs: "Tugas latar", retry: "Coba lagi",
      tabMe: "Akun saya", tabCanned: "Balasan tersimpan", tabInboxes: "Kotak masuk", tabPeople: "Orang & tim", tabAudit: "Log audit",
      changePassword: "Ganti kata sandi", currentPassword: "Kata sandi sekarang", newPassword: "Kata sandi baru (10+ karakter)",
      passwordNote: "Menggantinya akan mengeluarkan Anda dari perangkat lain.", apiTokens: "Token API", apiTokensNote: "Untuk skrip: kirim Authorization: Bearer <token>. Ditampilkan sekali.",
      tokenSurvives: "Tetap berlaku setelah kata sandi saya diganti (untuk integrasi)", survivesTag: "tetap berlaku setelah ganti kata sandi", deactivate: "Nonaktifkan", activate: "Aktifkan", deactivated: "nonaktif", confirmDeactivate: "Nonaktifkan {name}? Ia dikeluarkan dari semua perangkat, token API-nya berhenti berlaku, dan percakapan terbukanya kembali ke antrean.",
      err_wrong_current_password: "Kata sandi saat ini salah.", err_current_password_required: "Masukkan kata sandi saat ini untuk token yang tetap berlaku setelah ganti kata sandi.", err_assignee_deactivated: "Akun ini dinonaktifkan.",
      revoke: "Cabut", tokenName: "Nama token", createToken: "Buat token", cannedNote: "Ketik / lalu pintasannya di kotak balasan. Variabel: {{contact.first_name}}, {{contact.name}}, {{agent.first_name}}, {{agent.name}}, {{conversation.number}}, {{order.number}}, {{order.status}}, {{order.total}}, {{order.tracking_url}}; cadangan setelah |.",
      personal: "pribadi", shared: "bersama", delete: "Hapus", newCanned: "Balasan tersimpan baru", anyLanguage: "Semua bahasa (bawaan)",
      shortcut: "Pintasan", language: "Bahasa", title: "Judul", text: "Teks", sharedWithAll: "Dibagikan ke semua agen",
      members: "Anggota", capacityShort: "kapasitas", newAgent: "Agen baru", name: "Nama", role: "Peran", teams: "Tim", newTeam: "Nama tim baru",
      connecting: "menghubungkan…", live: "langsung", reconnecting: "menghubungkan ulang…", enableNotifications: "Aktifkan notifikasi",
      online: "Online", away: "Sedang pergi", settings: "Pengaturan", signOut: "Keluar", mine: "Milik saya", unassigned: "Belum ditugaskan",
      myTeam: "Tim saya", all: "Semua", newest: "Terbaru", longestWaiting: "Menunggu paling lama", resolve: "Selesaikan", reopen: "Buka lagi",
      assignToMe: "Tugaskan ke saya", addLabel: "Label", selectConversation: "Pilih percakapan",
      newChatsAppear: "Chat baru muncul di kiri begitu pembeli menulis.", nothingHere: "Tidak ada apa-apa. Nikmati ketenangan ☕",
      reply: "Balas", privateNote: "Catatan pribadi", send: "Kirim", replyPlaceholder: "Tulis balasan… (Enter untuk kirim, Shift+Enter baris baru, / untuk balasan tersimpan)",
      notePlaceholder: "Catatan pribadi — hanya agen yang melihat. @nama memberi tahu rekan.", waiting: "menunggu {t}",
      unassignedShort: "belum ditugaskan", noTeam: "Tanpa tim", priority: "Prioritas", pending: "Tertunda", snooze: "Tunda…",
      snooze1h: "1 jam", snoozeTomorrow: "Besok 9:00", snoozeWeek: "Minggu depan", close: "Tutup", merge: "Gabungkan ke…",
      mergePrompt: "Gabungkan ke nomor tiket mana dari pelanggan yang sama? (mis. 1002)", viewing: "{names} juga melihat",
      typingAgent: "{name} sedang mengetik…", customerTyping: "Pelanggan sedang mengetik…", notSent: "Tidak terkirim: {e}",
      labelPrompt: "Label (huruf, angka, - dan _)", notifications: "Notifikasi", noNotifications: "Belum ada notifikasi.",
      mention: "{who} menyebut Anda di {n}", assigned: "{n} ditugaskan kepada Anda", markAllRead: "Tandai semua dibaca",
      privateTag: "catatan pribadi", saved: "Tersimpan", selected: "{n} dipilih", mergedInto: "Digabung ke {n}", mergedFrom: "Gabungan dari {n}",
      search: "Cari", cannedNone: "Tidak ada balasan tersimpan dengan awalan itu.", shortcuts: "Pintasan: j/k berikut/sebelum · r balas · n catatan · e selesaikan · a tugaskan ke saya · / cari",
      chatWidget: "Widget chat", embed: "Tempel ini di setiap halaman toko Anda, tepat sebelum </body>:", greeting: "Salam",
      colour: "Warna", save: "Simpan", routing: "Penugasan otomatis", rrNone: "Mati (yang pertama membalas mengambilnya)", rr: "Bergiliran",
      ll: "Beban paling sedikit", reassign: "Kembalikan percakapan agen yang offline ke antrean", ack: "Balas otomatis percakapan baru dengan nomor tiket",
      responseMinutes: "Janji waktu balasan (menit)", capacity: "Kapasitas saya (percakapan terbuka)", closeBtn: "Tutup", bot: "Bot"
    },
    th: {
      edit: "แก้ไข",
      emailFrom: "จาก {a}", emailCc: "สำเนาถึง {a}", showOriginal: "แสดงอีเมลต้นฉบับ", hideOriginal: "ซ่อนอีเมลต้นฉบับ", delivery_queued: "กำลังส่ง…", delivery_sent: "ส่งทางอีเมลแล้ว", delivery_sent_partly: "ส่งทางอีเมลแล้ว แต่ส่งไม่ถึง {d}", delivery_failed: "ส่งไม่สำเร็จ: {d}", delivery_bounced: "อีเมลตีกลับ: {d}", attachmentsWord: "ไฟล์แนบ",
      tabBot: "บอท", botInboxes: "ตอบใน", botName: "ชื่อบอท", botTone: "น้ำเสียง", toneFriendly: "เป็นกันเอง", toneFormal: "ทางการ", botGreeting: "คำทักทาย ({l}); {name} คือชื่อของลูกค้า", botGreetingDefault: "(คำทักทายเริ่มต้น)", botThreshold: "เกณฑ์ส่งต่อเจ้าหน้าที่ (0.05–0.95): ต่ำกว่านี้บอทจะไม่เดา", hoursTitle: "เวลาทำการ (ในเวลาบอทส่งต่อเข้าคิว นอกเวลาบอทรับฝากข้อความ)", utcOffset: "เขตเวลา: นาทีจาก UTC (จาการ์ตาและกรุงเทพฯ 420)", opens: "เปิด", closes: "ปิด", day_mon: "วันจันทร์", day_tue: "วันอังคาร", day_wed: "วันพุธ", day_thu: "วันพฤหัสบดี", day_fri: "วันศุกร์", day_sat: "วันเสาร์", day_sun: "วันอาทิตย์", hoursNone: "ไม่ได้เลือกวันใด: เปิดตลอด", phrasesTitle: "ประโยคฝึก", intent: "เจตนา", builtinPhrases: "มีอยู่แล้ว:", shopPhrases: "ประโยคของคุณ บรรทัดละหนึ่ง", llmTitle: "โมเดลภาษา (ไม่บังคับ)", llmUrl: "ที่อยู่ API ที่เข้ากันได้กับ OpenAI", llmModel: "โมเดล", llmKey: "คีย์ API", llmTimeout: "หมดเวลา (มิลลิวินาที)", llmNote: "คำตอบเขียนจากศูนย์ช่วยเหลือและคำสั่งซื้อของลูกค้าเองเท่านั้น พร้อมแหล่งที่มา นอกนั้นใช้ข้อความจากศูนย์ช่วยเหลือ", trySentence: "ลองประโยค", tryBtn: "ลอง", tryResult: "{i} ({c}%, {l})", botStats: "30 วันที่ผ่านมา: บทสนทนากับบอท {n} ครั้ง ส่งต่อ {h} ลูกค้าจบเอง {e} คะแนนเฉลี่ย {r}", botIntent: "บอท: {i} · {c}% · {l}", botGenerated: "เขียนโดยโมเดลภาษา", botHandoff: "ส่งต่อแล้ว: {r}", fileNotKept: "{n} ({s}) ใหญ่เกินกว่าจะเก็บไว้ได้", event_mail_answers_other_ticket: "อีเมลนี้ตอบกลับ #{t} แต่ส่งมาจาก {a} ซึ่งไม่ได้อยู่ในทิกเก็ตนั้น จึงเปิดเป็นการสนทนาใหม่นี้ ผู้ที่ถูกสำเนาถึงจะไม่ได้รับคำตอบ เว้นแต่เจ้าหน้าที่จะเพิ่มเข้าไป", unverified: "ยังไม่ยืนยัน", botOffered: "ตัวเลือก: {b}",
      tabEmail: "อีเมล", connectMailbox: "เชื่อมต่อกล่องจดหมาย", inboxName: "ชื่อกล่องข้อความ", emailAddress: "อีเมลฝ่ายบริการ", fromName: "ชื่อในการตอบกลับ", imapServer: "อีเมลขาเข้า (IMAP)", smtpServer: "อีเมลขาออก (SMTP)", host: "เซิร์ฟเวอร์", port: "พอร์ต", security: "ความปลอดภัย", username: "ชื่อผู้ใช้", password: "รหัสผ่าน", folder: "โฟลเดอร์", perHour: "อีเมลสูงสุดต่อผู้ส่งต่อชั่วโมง", checkNow: "ตรวจสอบตอนนี้", fetchedN: "อีเมลใหม่ {n} ฉบับ", lastFetch: "ตรวจสอบล่าสุด: {when}", fetchFailed: "การตรวจสอบล่าสุดล้มเหลว: {e}", receivedMail: "อีเมลที่ได้รับ", reprocess: "อ่านอีกครั้ง", rawMail: "ดาวน์โหลด", noMailServer: "ไม่มี",
      net_blocked: "ที่อยู่ของเซิร์ฟเวอร์เป็นที่อยู่ส่วนตัวหรือภายใน Layan จะไม่เชื่อมต่อ เว้นแต่ระบุไว้ในการตั้งค่า outbound_allow", net_not_found: "ไม่พบชื่อเซิร์ฟเวอร์", net_refused: "เซิร์ฟเวอร์ปฏิเสธหรือปิดการเชื่อมต่อ", net_timed_out: "เซิร์ฟเวอร์ไม่ตอบกลับภายในเวลาที่กำหนด", net_tls: "ไม่สามารถสร้างการเชื่อมต่อที่ปลอดภัย (TLS) ได้", net_auth: "เซิร์ฟเวอร์ปฏิเสธชื่อผู้ใช้หรือรหัสผ่าน", net_protocol: "คำตอบของเซิร์ฟเวอร์ไม่เป็นไปตามที่คาดไว้", retrying: "กำลังลองอีกครั้ง",
      attach: "แนบไฟล์", removeFile: "นำ {name} ออก",
      customer: "ลูกค้า", orderCount: "{n} คำสั่งซื้อ", identities: "รู้จักในชื่อ", notes: "บันทึก", saveNotes: "บันทึกโน้ต", saved: "บันทึกแล้ว", maybeSame: "อาจเป็นลูกค้าคนเดียวกัน", sameEmail: "อีเมลเดียวกัน", samePhone: "เบอร์โทรเดียวกัน", sameName: "ชื่อเดียวกัน", mergeHere: "รวมเข้ากับลูกค้ารายนี้", mergeConfirm: "รวม {name} เข้ากับลูกค้ารายนี้หรือไม่ การสนทนา ตัวตน และคำสั่งซื้อจะย้ายมาที่นี่", history: "ประวัติ", conversationWord: "การสนทนา", orderWord: "คำสั่งซื้อ",
      inDoubt_refund: "ส่งคำขอคืนเงินแล้วแต่ร้านค้าไม่ตอบกลับ อาจดำเนินการไปแล้ว การคืนเงินอีกครั้งจะสอบถามร้านค้าก่อน", inDoubt_cancel: "ส่งคำขอยกเลิกแล้วแต่ร้านค้าไม่ตอบกลับ อาจดำเนินการไปแล้ว การยกเลิกอีกครั้งจะสอบถามร้านค้าก่อน", inDoubt_resend: "ส่งคำขอส่งสินค้าทดแทนแล้วแต่ร้านค้าไม่ตอบกลับ อาจสร้างไปแล้ว การส่งอีกครั้งจะสอบถามร้านค้าก่อน", err_store_no_answer: "ร้านค้าไม่ตอบกลับทันเวลา อาจดำเนินการไปแล้ว โปรดตรวจสอบคำสั่งซื้อ การลองอีกครั้งจะสอบถามร้านค้าก่อน จึงไม่ทำซ้ำ", err_already_done: "ร้านค้าดำเนินการนี้ไปแล้ว (คำขอก่อนหน้า) จึงไม่ส่งซ้ำ", err_action_in_progress: "การดำเนินการนี้กำลังทำอยู่ โปรดรอคำตอบ", err_still_in_doubt: "ร้านค้ายังไม่ตอบคำขอก่อนหน้าและอาจยังดำเนินการอยู่ จึงยังไม่ได้ส่งอะไร โปรดลองอีกครั้งในอีกไม่กี่นาที",
      refund: "คืนเงิน", refundPrompt: "จำนวนเงินที่คืน (เว้นว่าง: ทั้งคำสั่งซื้อ {total})", cancelOrder: "ยกเลิกคำสั่งซื้อ", cancelConfirm: "ยกเลิก {n} ในร้านค้าหรือไม่", resend: "ส่งใหม่", resendConfirm: "สร้างคำสั่งซื้อทดแทนฟรีสำหรับ {n} หรือไม่",
      orders: "คำสั่งซื้อ", noOrders: "ลูกค้ารายนี้ยังไม่มีคำสั่งซื้อ", track: "ติดตามพัสดุ", items: "{n} รายการ",
      tabHelp: "ศูนย์ช่วยเหลือ", articles: "บทความ", newArticle: "บทความใหม่", slug: "ที่อยู่ (slug)", category: "หมวดหมู่", noCategory: "ไม่มีหมวดหมู่", draft: "ฉบับร่าง", published: "เผยแพร่แล้ว", status: "สถานะ", markdownText: "เนื้อหา (Markdown)", view: "ดู", policy: "นโยบายการจัดส่งและการคืนสินค้า", policyNote: "นโยบายในรูปแบบ JSON (วันเตรียมสินค้า ตัวเลือกการจัดส่งพร้อมวันและค่าส่ง อากร ตู้ ปณ. การคืนสินค้า…) ระบบจะตรวจสอบเมื่อบันทึก และหน้าเว็บจะแสดงในทุกภาษา", deleteTranslation: "ลบภาษานี้", missingLang: "ยังไม่ได้เขียน",
      tabJobs: "งานเบื้องหลัง", retry: "ลองอีกครั้ง",
      tabMe: "บัญชีของฉัน", tabCanned: "ข้อความสำเร็จรูป", tabInboxes: "กล่องข้อความ", tabPeople: "ทีมงานและทีม", tabAudit: "บันทึกการตรวจสอบ",
      changePassword: "เปลี่ยนรหัสผ่าน", currentPassword: "รหัสผ่านปัจจุบัน", newPassword: "รหัสผ่านใหม่ (10 ตัวอักษรขึ้นไป)",
      passwordNote: "การเปลี่ยนจะออกจากระบบในที่อื่นทั้งหมด", apiTokens: "โทเคน API", apiTokensNote: "สำหรับสคริปต์: ส่ง Authorization: Bearer <token> แสดงครั้งเดียว",
      tokenSurvives: "ยังใช้ได้หลังจากเปลี่ยนรหัสผ่าน (สำหรับการเชื่อมต่อระบบ)", survivesTag: "ใช้ได้หลังเปลี่ยนรหัสผ่าน", deactivate: "ปิดใช้งาน", activate: "เปิดใช้งาน", deactivated: "ปิดใช้งานแล้ว", confirmDeactivate: "ปิดใช้งาน {name} หรือไม่? ระบบจะออกจากระบบทุกอุปกรณ์ โทเคน API จะใช้ไม่ได้ และบทสนทนาที่เปิดอยู่จะกลับเข้าคิว",
      err_wrong_current_password: "รหัสผ่านปัจจุบันไม่ถูกต้อง", err_current_password_required: "กรอกรหัสผ่านปัจจุบันสำหรับโทเคนที่ใช้ได้หลังเปลี่ยนรหัสผ่าน", err_assignee_deactivated: "บัญชีนี้ถูกปิดใช้งานแล้ว",
      revoke: "เพิกถอน", tokenName: "ชื่อโทเคน", createToken: "สร้างโทเคน", cannedNote: "พิมพ์ / ตามด้วยคำย่อในช่องตอบกลับ ตัวแปร: {{contact.first_name}}, {{contact.name}}, {{agent.first_name}}, {{agent.name}}, {{conversation.number}}, {{order.number}}, {{order.status}}, {{order.total}}, {{order.tracking_url}}; ค่าสำรองหลัง |",
      personal: "ส่วนตัว", shared: "ใช้ร่วมกัน", delete: "ลบ", newCanned: "ข้อความสำเร็จรูปใหม่", anyLanguage: "ทุกภาษา (ค่าเริ่มต้น)",
      shortcut: "คำย่อ", language: "ภาษา", title: "หัวข้อ", text: "ข้อความ", sharedWithAll: "ใช้ร่วมกันกับทุกคน",
      members: "สมาชิก", capacityShort: "ความจุ", newAgent: "พนักงานใหม่", name: "ชื่อ", role: "บทบาท", teams: "ทีม", newTeam: "ชื่อทีมใหม่",
      connecting: "กำลังเชื่อมต่อ…", live: "ออนไลน์", reconnecting: "กำลังเชื่อมต่อใหม่…", enableNotifications: "เปิดการแจ้งเตือน",
      online: "ออนไลน์", away: "ไม่อยู่", settings: "ตั้งค่า", signOut: "ออกจากระบบ", mine: "ของฉัน", unassigned: "ยังไม่มอบหมาย",
      myTeam: "ทีมของฉัน", all: "ทั้งหมด", newest: "ล่าสุด", longestWaiting: "รอนานที่สุด", resolve: "ปิดเรื่อง", reopen: "เปิดอีกครั้ง",
      assignToMe: "มอบหมายให้ฉัน", addLabel: "ป้ายกำกับ", selectConversation: "เลือกการสนทนา",
      newChatsAppear: "แชทใหม่จะแสดงทางซ้ายทันทีที่ลูกค้าเขียนมา", nothingHere: "ไม่มีอะไรที่นี่ พักสักครู่ ☕",
      reply: "ตอบกลับ", privateNote: "บันทึกส่วนตัว", send: "ส่ง", replyPlaceholder: "พิมพ์ข้อความตอบกลับ… (Enter เพื่อส่ง, Shift+Enter ขึ้นบรรทัดใหม่, / สำหรับข้อความสำเร็จรูป)",
      notePlaceholder: "บันทึกส่วนตัว — เฉพาะทีมงานเห็น @ชื่อ เพื่อแจ้งเพื่อนร่วมงาน", waiting: "รอ {t}",
      unassignedShort: "ยังไม่มอบหมาย", noTeam: "ไม่มีทีม", priority: "ความสำคัญ", pending: "รอดำเนินการ", snooze: "เลื่อน…",
      snooze1h: "1 ชั่วโมง", snoozeTomorrow: "พรุ่งนี้ 9:00", snoozeWeek: "สัปดาห์หน้า", close: "ปิด", merge: "รวมเข้ากับ…",
      mergePrompt: "รวมเข้ากับหมายเลขตั๋วใดของลูกค้าคนเดียวกัน? (เช่น 1002)", viewing: "{names} กำลังดูอยู่ด้วย",
      typingAgent: "{name} กำลังพิมพ์…", customerTyping: "ลูกค้ากำลังพิมพ์…", notSent: "ส่งไม่สำเร็จ: {e}",
      labelPrompt: "ป้ายกำกับ (ตัวอักษร ตัวเลข - และ _)", notifications: "การแจ้งเตือน", noNotifications: "ยังไม่มีการแจ้งเตือน",
      mention: "{who} กล่าวถึงคุณใน {n}", assigned: "{n} ถูกมอบหมายให้คุณ", markAllRead: "อ่านทั้งหมดแล้ว",
      privateTag: "บันทึกส่วนตัว", saved: "บันทึกแล้ว", selected: "เลือก {n} รายการ", mergedInto: "รวมเข้ากับ {n}", mergedFrom: "รวมมาจาก {n}",
      search: "ค้นหา", cannedNone: "ไม่มีข้อความสำเร็จรูปที่ขึ้นต้นแบบนี้", shortcuts: "ปุ่มลัด: j/k ถัดไป/ก่อนหน้า · r ตอบ · n บันทึก · e ปิดเรื่อง · a มอบหมายให้ฉัน · / ค้นหา",
      chatWidget: "วิดเจ็ตแชท", embed: "วางโค้ดนี้ในทุกหน้าของร้าน ก่อน </body>:", greeting: "คำทักทาย",
      colour: "สี", save: "บันทึก", routing: "มอบหมายอัตโนมัติ", rrNone: "ปิด (คนแรกที่ตอบรับไป)", rr: "เวียนตามลำดับ",
      ll: "งานน้อยที่สุด", reassign: "คืนการสนทนาของพนักงานที่ออฟไลน์เข้าคิว", ack: "ตอบรับการสนทนาใหม่พร้อมหมายเลขตั๋ว",
      responseMinutes: "เวลาตอบกลับที่สัญญา (นาที)", capacity: "ความจุของฉัน (การสนทนาที่เปิดอยู่)", closeBtn: "ปิด", bot: "บอท"
    },
    nl: {
      edit: "Bewerken",
      emailFrom: "Van {a}", emailCc: "Cc {a}", showOriginal: "Originele e-mail tonen", hideOriginal: "Originele e-mail verbergen", delivery_queued: "Wordt verzonden…", delivery_sent: "Per e-mail verzonden", delivery_sent_partly: "Per e-mail verzonden; niet bezorgd bij {d}", delivery_failed: "Niet bezorgd: {d}", delivery_bounced: "Teruggestuurd: {d}", attachmentsWord: "Bijlagen",
      tabBot: "Bot", botInboxes: "Antwoordt in", botName: "Naam van de bot", botTone: "Toon", toneFriendly: "Vriendelijk", toneFormal: "Formeel", botGreeting: "Begroeting ({l}); {name} is de voornaam van de klant", botGreetingDefault: "(standaardbegroeting)", botThreshold: "Drempel voor overdracht (0,05–0,95): daaronder gokt de bot niet", hoursTitle: "Openingstijden (binnen deze tijden draagt de bot over aan de wachtrij; daarbuiten neemt hij een bericht aan)", utcOffset: "Tijdzone: minuten ten opzichte van UTC (Amsterdam 60 of 120)", opens: "open", closes: "dicht", day_mon: "maandag", day_tue: "dinsdag", day_wed: "woensdag", day_thu: "donderdag", day_fri: "vrijdag", day_sat: "zaterdag", day_sun: "zondag", hoursNone: "Geen dag aangevinkt: altijd open.", phrasesTitle: "Trainingszinnen", intent: "Intentie", builtinPhrases: "Ingebouwd:", shopPhrases: "Jouw zinnen, één per regel", llmTitle: "Taalmodel (optioneel)", llmUrl: "OpenAI-compatibel API-adres", llmModel: "Model", llmKey: "API-sleutel", llmTimeout: "Time-out (ms)", llmNote: "Antwoorden worden alleen geschreven uit je klantenservice-artikelen en de eigen bestelling van de klant, met bronnen; anders valt de bot terug op het artikelfragment.", trySentence: "Probeer een zin", tryBtn: "Proberen", tryResult: "{i} ({c}%, {l})", botStats: "Laatste 30 dagen: {n} gesprekken met de bot, {h} overgedragen, {e} door de klant afgerond, gemiddeld cijfer {r}.", botIntent: "Bot: {i} · {c}% · {l}", botGenerated: "geschreven door het taalmodel", botHandoff: "overgedragen: {r}", fileNotKept: "{n} ({s}) was te groot om te bewaren", event_mail_answers_other_ticket: "Deze e-mail beantwoordt #{t}, maar komt van {a}, die geen deel uitmaakt van dat ticket, en opende daarom dit gesprek. Niemand in de cc krijgt antwoorden, tenzij een medewerker hen toevoegt.", unverified: "niet geverifieerd", botOffered: "Aangeboden: {b}",
      tabEmail: "E-mail", connectMailbox: "Mailbox koppelen", inboxName: "Naam van de inbox", emailAddress: "Supportadres", fromName: "Naam bij antwoorden", imapServer: "Inkomende mail (IMAP)", smtpServer: "Uitgaande mail (SMTP)", host: "Server", port: "Poort", security: "Beveiliging", username: "Gebruikersnaam", password: "Wachtwoord", folder: "Map", perHour: "Max. mails per afzender per uur", checkNow: "Nu controleren", fetchedN: "{n} nieuwe mails", lastFetch: "Laatst gecontroleerd: {when}", fetchFailed: "Laatste controle mislukt: {e}", receivedMail: "Ontvangen mail", reprocess: "Opnieuw lezen", rawMail: "Downloaden", noMailServer: "geen",
      net_blocked: "het adres van de server is privé of lokaal; Layan maakt daar geen verbinding mee tenzij de instelling outbound_allow het noemt", net_not_found: "de naam van de server is niet gevonden", net_refused: "de server weigerde of sloot de verbinding", net_timed_out: "de server antwoordde niet op tijd", net_tls: "er kon geen beveiligde (TLS-)verbinding worden gemaakt", net_auth: "de server weigerde de gebruikersnaam of het wachtwoord", net_protocol: "het antwoord van de server was niet wat werd verwacht", retrying: "wordt opnieuw geprobeerd",
      attach: "Bestand bijvoegen", removeFile: "{name} verwijderen",
      customer: "Klant", orderCount: "{n} bestellingen", identities: "Bekend als", notes: "Notities", saveNotes: "Notities opslaan", saved: "Opgeslagen", maybeSame: "Mogelijk dezelfde klant", sameEmail: "zelfde e-mail", samePhone: "zelfde telefoon", sameName: "zelfde naam", mergeHere: "Samenvoegen met deze klant", mergeConfirm: "{name} samenvoegen met deze klant? Gesprekken, identiteiten en bestellingen komen hierheen.", history: "Geschiedenis", conversationWord: "Gesprek", orderWord: "Bestelling",
      inDoubt_refund: "Er is een terugbetaling verstuurd en de winkel antwoordde niet: misschien is ze gedaan. Opnieuw terugbetalen vraagt het eerst aan de winkel.", inDoubt_cancel: "Er is een annulering verstuurd en de winkel antwoordde niet: misschien is ze gedaan. Opnieuw annuleren vraagt het eerst aan de winkel.", inDoubt_resend: "Er is een vervanging verstuurd en de winkel antwoordde niet: misschien is ze gemaakt. Opnieuw versturen vraagt het eerst aan de winkel.", err_store_no_answer: "De winkel antwoordde niet op tijd: misschien is het gedaan. Controleer de bestelling; opnieuw proberen vraagt het eerst aan de winkel, dus niets gebeurt dubbel.", err_already_done: "De winkel had dit al gedaan (een eerder verzoek); het is niet opnieuw verstuurd.", err_action_in_progress: "Deze actie loopt al; wacht op het antwoord.", err_still_in_doubt: "De winkel heeft het eerdere verzoek nog niet beantwoord en voert het misschien nog uit: er is niets verstuurd. Probeer het over een paar minuten opnieuw.",
      refund: "Terugbetalen", refundPrompt: "Bedrag om terug te betalen (leeg: de hele bestelling, {total})", cancelOrder: "Bestelling annuleren", cancelConfirm: "{n} annuleren in de winkel?", resend: "Opnieuw sturen", resendConfirm: "Een gratis vervangende bestelling maken voor {n}?",
      orders: "Bestellingen", noOrders: "Nog geen bestellingen van deze klant.", track: "Pakket volgen", items: "{n} artikelen",
      tabHelp: "Helpcentrum", articles: "Artikelen", newArticle: "Nieuw artikel", slug: "Adres (slug)", category: "Categorie", noCategory: "Geen categorie", draft: "Concept", published: "Gepubliceerd", status: "Status", markdownText: "Tekst (Markdown)", view: "Bekijken", policy: "Verzend- en retourbeleid", policyNote: "Het beleid als JSON (verwerkingsdagen, bezorgopties met dagen en kosten, invoerrechten, postbussen, retouren…). Het wordt bij opslaan gecontroleerd; de pagina toont het in elke taal.", deleteTranslation: "Deze taal verwijderen", missingLang: "niet geschreven",
      tabJobs: "Achtergrondtaken", retry: "Opnieuw",
      tabMe: "Mijn account", tabCanned: "Standaardantwoorden", tabInboxes: "Inboxen", tabPeople: "Mensen & teams", tabAudit: "Auditlog",
      changePassword: "Wachtwoord wijzigen", currentPassword: "Huidig wachtwoord", newPassword: "Nieuw wachtwoord (10+ tekens)",
      passwordNote: "Wijzigen meldt je overal elders af.", apiTokens: "API-tokens", apiTokensNote: "Voor scripts: stuur Authorization: Bearer <token>. Eén keer getoond.",
      tokenSurvives: "Blijft werken als mijn wachtwoord verandert (voor een koppeling)", survivesTag: "blijft na wachtwoordwijziging", deactivate: "Deactiveren", activate: "Activeren", deactivated: "gedeactiveerd", confirmDeactivate: "{name} deactiveren? Diegene wordt overal afgemeld, de API-tokens werken niet meer en de open gesprekken gaan terug naar de wachtrij.",
      err_wrong_current_password: "Het huidige wachtwoord klopt niet.", err_current_password_required: "Geef je huidige wachtwoord voor een token dat een wachtwoordwijziging overleeft.", err_assignee_deactivated: "Dit account is gedeactiveerd.",
      revoke: "Intrekken", tokenName: "Naam van de token", createToken: "Token maken", cannedNote: "Typ / en dan de afkorting in het antwoordvak. Variabelen: {{contact.first_name}}, {{contact.name}}, {{agent.first_name}}, {{agent.name}}, {{conversation.number}}, {{order.number}}, {{order.status}}, {{order.total}}, {{order.tracking_url}}; een alternatief na |.",
      personal: "persoonlijk", shared: "gedeeld", delete: "Verwijderen", newCanned: "Nieuw standaardantwoord", anyLanguage: "Elke taal (standaard)",
      shortcut: "Afkorting", language: "Taal", title: "Titel", text: "Tekst", sharedWithAll: "Gedeeld met iedereen",
      members: "Leden", capacityShort: "capaciteit", newAgent: "Nieuwe medewerker", name: "Naam", role: "Rol", teams: "Teams", newTeam: "Naam nieuw team",
      connecting: "verbinden…", live: "live", reconnecting: "opnieuw verbinden…", enableNotifications: "Meldingen aanzetten",
      online: "Online", away: "Afwezig", settings: "Instellingen", signOut: "Afmelden", mine: "Van mij", unassigned: "Niet toegewezen",
      myTeam: "Mijn team", all: "Alles", newest: "Nieuwste", longestWaiting: "Langst wachtend", resolve: "Oplossen", reopen: "Heropenen",
      assignToMe: "Aan mij toewijzen", addLabel: "Label", selectConversation: "Kies een gesprek",
      newChatsAppear: "Nieuwe chats verschijnen links zodra een klant schrijft.", nothingHere: "Niets te doen. Geniet van de rust ☕",
      reply: "Antwoord", privateNote: "Interne notitie", send: "Verstuur", replyPlaceholder: "Schrijf een antwoord… (Enter verstuurt, Shift+Enter nieuwe regel, / voor standaardantwoorden)",
      notePlaceholder: "Interne notitie — alleen collega's zien dit. @naam waarschuwt een collega.", waiting: "wacht {t}",
      unassignedShort: "niet toegewezen", noTeam: "Geen team", priority: "Prioriteit", pending: "In afwachting", snooze: "Uitstellen…",
      snooze1h: "1 uur", snoozeTomorrow: "Morgen 9:00", snoozeWeek: "Volgende week", close: "Sluiten", merge: "Samenvoegen met…",
      mergePrompt: "Samenvoegen met welk ticketnummer van dezelfde klant? (bijv. 1002)", viewing: "{names} kijkt ook mee",
      typingAgent: "{name} typt…", customerTyping: "Klant typt…", notSent: "Niet verstuurd: {e}",
      labelPrompt: "Label (letters, cijfers, - en _)", notifications: "Meldingen", noNotifications: "Nog geen meldingen.",
      mention: "{who} noemde je in {n}", assigned: "{n} is aan jou toegewezen", markAllRead: "Alles gelezen",
      privateTag: "interne notitie", saved: "Opgeslagen", selected: "{n} geselecteerd", mergedInto: "Samengevoegd met {n}", mergedFrom: "Samengevoegd uit {n}",
      search: "Zoeken", cannedNone: "Geen standaardantwoord begint zo.", shortcuts: "Sneltoetsen: j/k volgende/vorige · r antwoord · n notitie · e oplossen · a aan mij · / zoeken",
      chatWidget: "Chatwidget", embed: "Plak dit op elke pagina van je winkel, vlak voor </body>:", greeting: "Begroeting",
      colour: "Kleur", save: "Opslaan", routing: "Automatisch toewijzen", rrNone: "Uit (wie eerst antwoordt)", rr: "Om de beurt",
      ll: "Minst belast", reassign: "Open gesprekken van een offline medewerker terug in de wachtrij", ack: "Nieuwe gesprekken bevestigen met het ticketnummer",
      responseMinutes: "Beloofde antwoordtijd (minuten)", capacity: "Mijn capaciteit (open gesprekken)", closeBtn: "Sluiten", bot: "Bot"
    }
  };
  var lang = STRINGS[document.documentElement.lang] ? document.documentElement.lang : "en";
  function t(key, vars) {
    var s = (STRINGS[lang] && STRINGS[lang][key]) || STRINGS.en[key] || key;
    if (vars) Object.keys(vars).forEach(function (k) { s = s.split("{" + k + "}").join(String(vars[k])); });
    return s;
  }
  // An API error in the agent's language when the app has words for its code (net_refused…,
  // err_<code>), else the server's message.
  function errorText(e) {
    if (!e) return "";
    if (/^net_/.test(e.code) && STRINGS.en[e.code]) return t(e.code);
    if (STRINGS.en["err_" + e.code]) return t("err_" + e.code);
    return e.message;
  }
  // A server-side detail with classified network errors (net_refused…) and "retrying: " in the
  // agent's language; other text (an SMTP reply code, an address) as it is.
  function netText(s) {
    return String(s || "").replace(/^retrying: /, t("retrying") + ": ").replace(/\bnet_[a-z_]+\b/g, function (c) { return STRINGS.en[c] ? t(c) : c; });
  }
  function translatePage() {
    document.querySelectorAll("[data-i18n]").forEach(function (e) { e.textContent = t(e.dataset.i18n); });
    searchEl.placeholder = t("search");
    langSelect.value = lang;
  }

  var me = null;
  var agents = [];
  var teams = [];
  var cannedList = [];
  var view = "all";
  var convs = new Map(); // id -> summary
  var unread = new Set();
  var selected = new Set();
  var viewers = new Map(); // conversation id -> Map(agent id -> name)
  var typers = new Map(); // conversation id -> Map(agent id -> name)
  var current = null; // {id, lastSeq, seen: Set(seq), els}
  var ws = null, wsReady = false, attempt = 0;

  // ---- helpers ---------------------------------------------------------------------------
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }
  function option(value, text, selectedNow) {
    var o = el("option", null, text);
    o.value = value;
    if (selectedNow) o.selected = true;
    return o;
  }
  function api(method, path, body) {
    var opts = { method: method, headers: { "X-CSRF-Token": CSRF }, credentials: "same-origin" };
    if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
    return fetch(path, opts).then(function (r) {
      if (r.status === 401) { location.href = "/login"; throw new Error("logged out"); }
      if (r.status === 204 || r.status === 202) return null;
      return r.json().then(function (j) {
        if (!r.ok) throw new Error(errorText(j.error) || r.statusText);
        return j;
      });
    });
  }
  function uuid() {
    return crypto.randomUUID ? crypto.randomUUID() : "a-" + Date.now() + "-" + Math.random().toString(36).slice(2);
  }
  function ago(ms) {
    var s = Math.max(0, (Date.now() - ms) / 1000);
    if (s < 60) return "0m";
    if (s < 3600) return Math.floor(s / 60) + "m";
    if (s < 86400) return Math.floor(s / 3600) + "h";
    return Math.floor(s / 86400) + "d";
  }
  function clock(ms) {
    return new Date(ms).toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" });
  }
  function contactName(c) { return c.contact_name || c.contact_email || ("Visitor " + c.contact_id); }
  function toast(text) {
    var tEl = el("div", "toast", text);
    document.body.appendChild(tEl);
    setTimeout(function () { tEl.remove(); }, 4000);
  }
  function isUnread(c) {
    return unread.has(c.id) || (c.last_incoming_seq > (c.read_seq || 0) && !(current && current.id === c.id));
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
  function updateTitle() {
    var n = Array.from(convs.values()).filter(isUnread).length;
    document.title = (n ? "(" + n + ") " : "") + "Inbox · Layan";
  }
  function notify(summary, message, isNew) {
    ding();
    if (window.Notification && Notification.permission === "granted" && document.hidden) {
      var n = new Notification((isNew ? "New chat: " : "") + contactName(summary) + " · #" + summary.number, {
        body: message.body.slice(0, 140), tag: "conv-" + summary.id
      });
      n.onclick = function () { window.focus(); openConversation(summary.id); n.close(); };
    }
    updateTitle();
  }
  if (window.Notification && Notification.permission === "default") {
    notifyBtn.hidden = false;
    notifyBtn.addEventListener("click", function () {
      Notification.requestPermission().then(function () { notifyBtn.hidden = true; });
    });
  }

  // ---- conversation list -----------------------------------------------------------------
  function listQuery() {
    var q = "?view=" + view + "&status=" + statusEl.value + "&sort=" + sortEl.value + "&limit=100";
    if (searchEl.value.trim()) q += "&q=" + encodeURIComponent(searchEl.value.trim());
    if (labelEl.value) q += "&label=" + encodeURIComponent(labelEl.value);
    if (prioEl.value) q += "&priority=" + prioEl.value;
    return q;
  }
  function inView(c) {
    if (statusEl.value !== "all" && c.status !== statusEl.value) return false;
    if (labelEl.value && (c.labels || []).indexOf(labelEl.value) < 0) return false;
    if (prioEl.value && c.priority !== prioEl.value) return false;
    if (searchEl.value.trim()) return true; // the server decided
    switch (view) {
      case "mine": return me && c.assignee_id === me.id;
      case "unassigned": return c.assignee_id == null;
      case "team": return me && me.team_ids.indexOf(c.team_id) >= 0;
      default: return true;
    }
  }
  var listSeq = 0;
  function loadList() {
    var seq = ++listSeq;
    return api("GET", "/api/v1/conversations" + listQuery()).then(function (rows) {
      if (seq !== listSeq) return;
      convs = new Map();
      rows.forEach(function (c) { convs.set(c.id, c); });
      renderList();
    }).then(loadCounts);
  }
  function loadCounts() {
    return api("GET", "/api/v1/conversations/counts").then(function (n) {
      ["mine", "unassigned", "team", "all"].forEach(function (k) {
        document.getElementById("count-" + k).textContent = n[k] ? String(n[k]) : "";
      });
    }).catch(function () { /* counts are a nicety */ });
  }
  function sortRows(rows) {
    if (sortEl.value === "waiting") {
      return rows.sort(function (a, b) {
        var wa = a.waiting_since == null ? Infinity : a.waiting_since, wb = b.waiting_since == null ? Infinity : b.waiting_since;
        return wa - wb || a.id - b.id;
      });
    }
    return rows.sort(function (a, b) { return b.last_message_at - a.last_message_at || b.id - a.id; });
  }
  function renderList() {
    var rows = sortRows(Array.from(convs.values()).filter(inView));
    listEl.textContent = "";
    if (!rows.length) listEl.appendChild(el("li", "empty-list", t("nothingHere")));
    rows.forEach(function (c) {
      var li = el("li", "conv");
      li.tabIndex = 0;
      li.dataset.id = c.id;
      if (current && current.id === c.id) li.classList.add("active");
      if (isUnread(c)) li.classList.add("unread");
      var check = el("input", "pick");
      check.type = "checkbox";
      check.checked = selected.has(c.id);
      check.setAttribute("aria-label", "Select #" + c.number);
      check.addEventListener("click", function (e) {
        e.stopPropagation();
        if (check.checked) selected.add(c.id); else selected.delete(c.id);
        renderBulk();
      });
      var top = el("div", "conv-top");
      top.appendChild(check);
      top.appendChild(el("span", "conv-name", contactName(c)));
      top.appendChild(el("span", "conv-time", ago(c.last_message_at)));
      var mid = el("div", "conv-preview", c.last_message ? (c.last_message.direction === "note" ? "📝 " : "") + c.last_message.body : "");
      var bottom = el("div", "conv-meta");
      bottom.appendChild(el("span", "num", "#" + c.number));
      bottom.appendChild(el("span", "pill " + c.status, c.status));
      if (c.priority && c.priority !== "none") bottom.appendChild(el("span", "pill prio-" + c.priority, c.priority));
      bottom.appendChild(el("span", "inbox", c.inbox_name));
      if (c.waiting_since && c.status === "open") bottom.appendChild(el("span", "waiting", t("waiting", { t: ago(c.waiting_since) })));
      (c.labels || []).forEach(function (l) { bottom.appendChild(el("span", "label", l)); });
      bottom.appendChild(el("span", "assignee", c.assignee_name ? "→ " + c.assignee_name : t("unassignedShort")));
      if (viewers.get(c.id) && viewers.get(c.id).size) bottom.appendChild(el("span", "eye", "👁 " + Array.from(viewers.get(c.id).values()).join(", ")));
      li.appendChild(top); li.appendChild(mid); li.appendChild(bottom);
      li.addEventListener("click", function () { openConversation(c.id); });
      li.addEventListener("keydown", function (e) { if (e.key === "Enter") openConversation(c.id); });
      listEl.appendChild(li);
    });
    updateTitle();
  }
  function renderBulk() {
    bulkEl.hidden = selected.size === 0;
    document.getElementById("bulk-count").textContent = t("selected", { n: selected.size });
  }
  document.querySelectorAll(".filters button").forEach(function (b) {
    b.addEventListener("click", function () {
      document.querySelectorAll(".filters button").forEach(function (x) { x.classList.remove("active"); });
      b.classList.add("active");
      view = b.dataset.view;
      loadList();
    });
  });
  var searchTimer = null;
  searchEl.addEventListener("input", function () { clearTimeout(searchTimer); searchTimer = setTimeout(loadList, 250); });
  statusEl.addEventListener("change", loadList);
  labelEl.addEventListener("change", loadList);
  prioEl.addEventListener("change", loadList);
  function loadLabels() {
    return api("GET", "/api/v1/labels").then(function (rows) {
      var keep = labelEl.value;
      labelEl.textContent = "";
      labelEl.appendChild(option("", "# " + t("addLabel")));
      rows.forEach(function (r) { labelEl.appendChild(option(r.label, "#" + r.label + " (" + r.count + ")", r.label === keep)); });
    }).catch(function () {});
  }
  prioEl.options[0].textContent = t("priority");
  sortEl.addEventListener("change", loadList);
  bulkEl.querySelectorAll("button").forEach(function (b) {
    b.addEventListener("click", function () {
      var body = { ids: Array.from(selected), action: b.dataset.bulk };
      if (body.action === "assign") body.agent_id = me.id;
      if (body.action === "label") {
        var l = prompt(t("labelPrompt"));
        if (!l) return;
        body.label = l;
      }
      api("POST", "/api/v1/conversations/bulk", body).then(function (r) {
        if (r.failed.length) toast(r.failed.map(function (f) { return "#" + f.id + ": " + f.code; }).join(", "));
        selected.clear(); renderBulk(); loadList();
      }).catch(function (e) { toast(e.message); });
    });
  });

  // ---- one conversation ------------------------------------------------------------------
  function money(amount, currency) {
    try {
      return new Intl.NumberFormat(lang, { style: "currency", currency: currency, maximumFractionDigits: currency === "IDR" ? 0 : 2 }).format(Number(amount));
    } catch (e) { return currency + " " + amount; }
  }
  // Refund, cancel, resend through the store (admins and supervisors, store connected).
  function orderActions(convId, o, reload) {
    var row = el("div", "order-actions");
    function act(body, button) {
      button.disabled = true;
      api("POST", "/api/v1/conversations/" + convId + "/orders/" + o.id + "/actions", body)
        .then(function (r) { toast(r.done); })
        .catch(function (e) { toast(e.message); })
        // The order's status follows (cancelled, refunded), and an action in doubt shows.
        .then(function () { button.disabled = false; reload(); });
    }
    var refund = el("button", "small refund", t("refund")); refund.type = "button";
    refund.addEventListener("click", function () {
      var amount = prompt(t("refundPrompt").replace("{total}", money(o.total, o.currency)), "");
      if (amount === null) return;
      amount = amount.trim();
      act(amount ? { action: "refund", amount: amount } : { action: "refund" }, refund);
    });
    row.appendChild(refund);
    if (!o.cancelled_at) {
      var cancel = el("button", "small cancel-order", t("cancelOrder")); cancel.type = "button";
      cancel.addEventListener("click", function () {
        if (confirm(t("cancelConfirm").replace("{n}", o.number))) act({ action: "cancel" }, cancel);
      });
      row.appendChild(cancel);
    }
    var resend = el("button", "small resend", t("resend")); resend.type = "button";
    resend.addEventListener("click", function () {
      if (confirm(t("resendConfirm").replace("{n}", o.number))) act({ action: "resend" }, resend);
    });
    row.appendChild(resend);
    return row;
  }

  function loadOrders(id, box, summary) {
    api("GET", "/api/v1/conversations/" + id + "/orders").then(function (orders) {
      if (!current || current.id !== id) return;
      box.hidden = false;
      summary.textContent = t("orders") + " (" + orders.length + ")";
      var list = el("ul", "order-list");
      if (!orders.length) list.appendChild(el("li", "muted", t("noOrders")));
      orders.forEach(function (o) {
        var li = el("li", "order");
        li.setAttribute("data-number", o.number);
        var top = el("div", "order-top");
        top.appendChild(el("b", null, o.number));
        top.appendChild(el("span", "order-status " + o.status.replace(/\s+/g, "-"), o.status));
        top.appendChild(el("span", "muted", money(o.total, o.currency) + " · " + new Date(o.placed_at).toLocaleDateString(lang)));
        li.appendChild(top);
        var items = o.lines.map(function (l) { return l.quantity + " × " + l.title + (l.variant ? " (" + l.variant + ")" : ""); }).join(", ");
        li.appendChild(el("div", "order-lines", items));
        if (o.tracking_url && /^https?:\/\//.test(o.tracking_url)) {
          var a = el("a", "track", t("track") + " ↗");
          a.href = o.tracking_url; a.target = "_blank"; a.rel = "noopener noreferrer";
          li.appendChild(a);
        }
        (o.in_doubt || []).forEach(function (k) {
          li.appendChild(el("div", "order-doubt", t("inDoubt_" + k)));
        });
        if (o.actions) li.appendChild(orderActions(id, o, function () { box.textContent = ""; box.appendChild(summary); loadOrders(id, box, summary); }));
        list.appendChild(li);
      });
      box.appendChild(list);
      box.open = orders.length > 0;
    }).catch(function () { box.hidden = true; });
  }

  // The customer: who they are across channels, notes, possible duplicates, their history.
  function loadCustomer(id, box, summary) {
    api("GET", "/api/v1/conversations/" + id + "/contact").then(function (p) {
      if (!current || current.id !== id) return;
      box.hidden = false;
      var c = p.contact;
      var spend = p.lifetime_value.map(function (v) { return money(v.total, v.currency); }).join(" + ");
      summary.textContent = t("customer") + ": " + (c.name || c.email || "#" + c.id) + " · " +
        t("orderCount").replace("{n}", p.order_count) + (spend ? " · " + spend : "");
      var body = el("div", "customer-body");
      var ids = el("div", "identities");
      ids.appendChild(el("span", "muted", t("identities") + ": "));
      p.identities.filter(function (i) { return i.value; }).forEach(function (i) {
        ids.appendChild(el("span", "chip", i.kind + ": " + i.value));
      });
      if (c.phone) ids.appendChild(el("span", "chip", "phone: " + c.phone));
      // An address typed into the widget is not proven: shown as such (it never suggests a
      // merge or matches orders).
      var proven = p.identities.some(function (i) { return i.kind === "email" && i.value === c.email; });
      if (c.email && !proven) ids.appendChild(el("span", "chip unverified", "email: " + c.email + " · " + t("unverified")));
      body.appendChild(ids);
      var notes = el("textarea", "contact-notes");
      notes.value = c.notes || ""; notes.maxLength = 5000; notes.rows = 2;
      notes.setAttribute("aria-label", t("notes")); notes.placeholder = t("notes");
      var saveNotes = el("button", "small", t("saveNotes")); saveNotes.type = "button";
      saveNotes.addEventListener("click", function () {
        api("PATCH", "/api/v1/contacts/" + c.id, { notes: notes.value }).then(function () { toast(t("saved")); })
          .catch(function (e) { toast(e.message); });
      });
      var notesRow = el("div", "notes-row"); notesRow.appendChild(notes); notesRow.appendChild(saveNotes);
      body.appendChild(notesRow);
      var dups = el("div", "duplicates");
      body.appendChild(dups);
      api("GET", "/api/v1/contacts/" + c.id + "/duplicates").then(function (list) {
        if (!list.length) return;
        dups.appendChild(el("div", "muted", t("maybeSame") + ":"));
        list.forEach(function (d) {
          var reason = { same_email: t("sameEmail"), same_phone: t("samePhone"), same_name: t("sameName") }[d.reason] || d.reason;
          var who = d.contact.name || d.contact.email || "#" + d.contact.id;
          var row = el("div", "duplicate");
          row.setAttribute("data-contact", d.contact.id);
          row.appendChild(el("span", null, who + " (" + reason + ")"));
          if (me.role !== "agent") {
            var merge = el("button", "small merge-contact", t("mergeHere")); merge.type = "button";
            merge.addEventListener("click", function () {
              if (!confirm(t("mergeConfirm").replace("{name}", who))) return;
              api("POST", "/api/v1/contacts/" + c.id + "/merge", { from: d.contact.id }).then(function () {
                box.textContent = ""; box.appendChild(summary); loadCustomer(id, box, summary);
              }).catch(function (e) { toast(e.message); });
            });
            row.appendChild(merge);
          }
          dups.appendChild(row);
        });
      }).catch(function () {});
      body.appendChild(el("div", "muted", t("history")));
      var timeline = el("ul", "timeline");
      p.timeline.forEach(function (e) {
        var li = el("li", "timeline-" + e.kind);
        var when = new Date(e.at).toLocaleDateString(lang);
        if (e.kind === "conversation") {
          var a = el("a", null, t("conversationWord") + " #" + e.number + " · " + e.inbox + " · " + e.status);
          a.href = "#"; a.setAttribute("data-conversation", e.id);
          a.addEventListener("click", function (ev) { ev.preventDefault(); if (e.id !== id) openConversation(e.id); });
          if (e.id === id) li.classList.add("this");
          li.appendChild(a);
          if (e.preview) li.appendChild(el("div", "muted preview", e.preview));
        } else {
          li.appendChild(el("span", null, t("orderWord") + " " + e.number + " · " + money(e.total, e.currency) + " · " + e.status));
        }
        li.appendChild(el("span", "muted when", " " + when));
        timeline.appendChild(li);
      });
      body.appendChild(timeline);
      box.appendChild(body);
    }).catch(function () { box.hidden = true; });
  }

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
    var labels = el("div", "conv-labels");
    info.appendChild(name); info.appendChild(sub); info.appendChild(labels);
    var actions = el("div", "conv-actions");
    var assign = el("select", "assign"); assign.setAttribute("aria-label", "Assignee");
    var team = el("select", "team"); team.setAttribute("aria-label", "Team");
    var prio = el("select", "priority"); prio.setAttribute("aria-label", t("priority"));
    ["none", "low", "medium", "high", "urgent"].forEach(function (p) { prio.appendChild(option(p, p === "none" ? t("priority") + ": –" : p)); });
    var more = el("select", "more"); more.setAttribute("aria-label", "More actions");
    var statusBtn = el("button", "primary status-btn");
    actions.appendChild(assign); actions.appendChild(team); actions.appendChild(prio); actions.appendChild(more); actions.appendChild(statusBtn);
    head.appendChild(info); head.appendChild(actions);
    var banner = el("div", "banner"); banner.hidden = true;
    var collision = el("div", "collision"); collision.setAttribute("role", "status");
    var log = el("div", "log");
    log.setAttribute("aria-live", "polite");
    var typing = el("div", "typing-line");
    var form = el("form", "reply");
    var tabs = el("div", "reply-tabs");
    var replyTab = el("button", "tab active", t("reply")); replyTab.type = "button";
    var noteTab = el("button", "tab", t("privateNote")); noteTab.type = "button";
    tabs.appendChild(replyTab); tabs.appendChild(noteTab);
    var box = el("textarea");
    box.placeholder = t("replyPlaceholder");
    box.setAttribute("aria-label", t("reply"));
    box.maxLength = 10000;
    var menu = el("ul", "canned-menu"); menu.hidden = true; menu.setAttribute("role", "listbox");
    var send = el("button", "primary send", t("send")); send.type = "submit";
    var row = el("div", "reply-row");
    var boxWrap = el("div", "box-wrap");
    boxWrap.appendChild(menu); boxWrap.appendChild(box);
    // Files for an email reply: uploaded at once, sent with the reply.
    var attachBtn = el("button", "ghost attach", "📎"); attachBtn.type = "button";
    attachBtn.title = t("attach"); attachBtn.setAttribute("aria-label", t("attach"));
    attachBtn.hidden = true;
    var fileInput = el("input"); fileInput.type = "file"; fileInput.multiple = true; fileInput.hidden = true;
    var chips = el("ul", "file-chips");
    var files = [];
    function renderChips() {
      chips.textContent = "";
      files.forEach(function (f, i) {
        var li = el("li", "label", f.filename);
        var x = el("button", "chip-x", "×"); x.type = "button";
        x.setAttribute("aria-label", t("removeFile", { name: f.filename }));
        x.onclick = function () { files.splice(i, 1); renderChips(); };
        li.appendChild(x);
        chips.appendChild(li);
      });
    }
    attachBtn.onclick = function () { fileInput.click(); };
    fileInput.addEventListener("change", function () {
      Array.prototype.forEach.call(fileInput.files, function (file) {
        fetch("/api/v1/conversations/" + id + "/attachments?filename=" + encodeURIComponent(file.name), {
          method: "POST", credentials: "same-origin", body: file,
          headers: { "X-CSRF-Token": CSRF, "Content-Type": file.type || "application/octet-stream" },
        }).then(function (r) {
          return r.json().then(function (j) { if (!r.ok) throw new Error((j.error && j.error.message) || r.statusText); return j; });
        }).then(function (meta) { files.push(meta); renderChips(); }).catch(fail);
      });
      fileInput.value = "";
    });
    row.appendChild(attachBtn); row.appendChild(fileInput);
    row.appendChild(boxWrap); row.appendChild(send);
    form.appendChild(tabs); form.appendChild(chips); form.appendChild(row);
    // The customer and their orders from the store, folded under the header.
    var customerBox = el("details", "customer");
    var customerSum = el("summary", null, t("customer"));
    customerBox.appendChild(customerSum);
    customerBox.hidden = true;
    loadCustomer(id, customerBox, customerSum);
    var ordersBox = el("details", "orders");
    var ordersSum = el("summary", null, t("orders"));
    ordersBox.appendChild(ordersSum);
    ordersBox.hidden = true;
    loadOrders(id, ordersBox, ordersSum);
    current.emailConv = false;
    setTimeout(loadEmails, 0);
    mainEl.appendChild(head); mainEl.appendChild(customerBox); mainEl.appendChild(ordersBox); mainEl.appendChild(banner); mainEl.appendChild(collision); mainEl.appendChild(log); mainEl.appendChild(typing); mainEl.appendChild(form);
    current.els = { name: name, sub: sub, labels: labels, assign: assign, team: team, prio: prio, more: more, statusBtn: statusBtn,
      log: log, typing: typing, box: box, banner: banner, collision: collision, noteTab: noteTab, attach: attachBtn };

    var isNote = false;
    function setMode(note) {
      isNote = note;
      replyTab.classList.toggle("active", !note); noteTab.classList.toggle("active", note);
      form.classList.toggle("note-mode", note);
      box.placeholder = note ? t("notePlaceholder") : t("replyPlaceholder");
    }
    current.setMode = setMode;
    replyTab.onclick = function () { setMode(false); box.focus(); };
    noteTab.onclick = function () { setMode(true); box.focus(); };

    // Canned responses: "/" then a shortcut.
    var menuItems = [], menuIdx = 0;
    function cannedQuery() {
      var m = /(^|\s)\/([^\s\/]*)$/.exec(box.value.slice(0, box.selectionStart));
      return m ? m[2].toLowerCase() : null;
    }
    function renderMenu() {
      var q = cannedQuery();
      if (q === null) { menu.hidden = true; return; }
      var seen = {};
      menuItems = cannedList.filter(function (c) {
        if (seen[c.shortcut] || c.shortcut.indexOf(q) !== 0) return false;
        seen[c.shortcut] = true; return true;
      }).slice(0, 8);
      menu.textContent = "";
      if (!menuItems.length) { menu.appendChild(el("li", "none", t("cannedNone"))); menu.hidden = false; return; }
      menuIdx = Math.min(menuIdx, menuItems.length - 1);
      menuItems.forEach(function (c, i) {
        var li = el("li", i === menuIdx ? "active" : null);
        li.setAttribute("role", "option");
        li.appendChild(el("b", null, "/" + c.shortcut));
        li.appendChild(el("span", null, " " + c.title));
        li.addEventListener("mousedown", function (e) { e.preventDefault(); pickCanned(c.shortcut); });
        menu.appendChild(li);
      });
      menu.hidden = false;
    }
    function pickCanned(shortcut) {
      menu.hidden = true;
      api("GET", "/api/v1/conversations/" + id + "/canned/" + encodeURIComponent(shortcut)).then(function (r) {
        var before = box.value.slice(0, box.selectionStart).replace(/\/[^\s\/]*$/, "");
        var after = box.value.slice(box.selectionStart);
        box.value = before + r.text + after; // a field's value: text, never markup
        box.focus();
        box.selectionStart = box.selectionEnd = (before + r.text).length;
      }).catch(function (e) { toast(e.message); });
    }
    box.addEventListener("keydown", function (e) {
      if (!menu.hidden && menuItems.length) {
        if (e.key === "ArrowDown") { e.preventDefault(); menuIdx = (menuIdx + 1) % menuItems.length; renderMenu(); return; }
        if (e.key === "ArrowUp") { e.preventDefault(); menuIdx = (menuIdx + menuItems.length - 1) % menuItems.length; renderMenu(); return; }
        if (e.key === "Enter" || e.key === "Tab") { e.preventDefault(); pickCanned(menuItems[menuIdx].shortcut); return; }
        if (e.key === "Escape") { menu.hidden = true; return; }
      }
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); form.requestSubmit(); }
    });
    var typingOn = false, typingTimer = null;
    box.addEventListener("input", function () {
      menuIdx = 0; renderMenu();
      if (!wsReady) return;
      if (!typingOn) { typingOn = true; ws.send(JSON.stringify({ type: "typing", conversation_id: id, on: true })); }
      clearTimeout(typingTimer);
      typingTimer = setTimeout(function () {
        typingOn = false;
        if (wsReady) ws.send(JSON.stringify({ type: "typing", conversation_id: id, on: false }));
      }, 2500);
    });
    box.addEventListener("blur", function () { menu.hidden = true; });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var body = box.value;
      if (!body.trim()) return;
      send.disabled = true;
      var cid = uuid();
      var attemptSend = function (tries) {
        var ids = files.map(function (f) { return f.id; });
        return api("POST", "/api/v1/conversations/" + id + "/messages", { body: body, client_message_id: cid, private: isNote, attachment_ids: ids })
          .catch(function (err) {
            // Network errors are retried with the same id: the server stores it once.
            if (tries > 0 && err instanceof TypeError) return new Promise(function (r) { setTimeout(r, 1000); }).then(function () { return attemptSend(tries - 1); });
            throw err;
          });
      };
      attemptSend(3).then(function (r) {
        box.value = "";
        files = []; renderChips();
        addMessage(r.message);
      }).catch(function (err) { toast(t("notSent", { e: err.message })); })
        .finally(function () { send.disabled = false; box.focus(); });
    });
    assign.addEventListener("change", function () {
      var v = assign.value === "" ? null : Number(assign.value);
      api("POST", "/api/v1/conversations/" + id + "/assignee", { agent_id: v }).then(upsert).catch(function (e) { toast(e.message); renderHead(); });
    });
    team.addEventListener("change", function () {
      var v = team.value === "" ? null : Number(team.value);
      api("POST", "/api/v1/conversations/" + id + "/team", { team_id: v }).then(upsert).catch(function (e) { toast(e.message); });
    });
    prio.addEventListener("change", function () {
      api("POST", "/api/v1/conversations/" + id + "/priority", { priority: prio.value }).then(upsert).catch(function (e) { toast(e.message); });
    });
    more.addEventListener("change", function () {
      var action = more.value;
      more.value = "";
      var now = new Date();
      var until = null;
      if (action === "snooze1h") until = Date.now() + 3600 * 1000;
      if (action === "snoozeTomorrow") { var d = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1, 9); until = d.getTime(); }
      if (action === "snoozeWeek") until = Date.now() + 7 * 24 * 3600 * 1000;
      if (until) return setStatus("snoozed", until);
      if (action === "pending" || action === "closed") return setStatus(action);
      if (action === "label") {
        var l = prompt(t("labelPrompt"));
        if (l) api("POST", "/api/v1/conversations/" + id + "/labels", { label: l }).then(upsert).catch(function (e) { toast(e.message); });
      }
      if (action === "merge") {
        var n = (prompt(t("mergePrompt")) || "").replace("#", "").trim();
        if (!n) return;
        api("GET", "/api/v1/conversations?status=all&q=" + encodeURIComponent(n)).then(function (rows) {
          var target = rows.find(function (r) { return String(r.number) === n; });
          if (!target) throw new Error("#" + n + "?");
          return api("POST", "/api/v1/conversations/" + id + "/merge", { into: target.id }).then(function (s) { upsert(s); openConversation(s.id); });
        }).catch(function (e) { toast(e.message); });
      }
    });
    statusBtn.addEventListener("click", function () {
      var c = convs.get(id);
      setStatus(c && c.status === "open" ? "resolved" : "open");
    });
    function setStatus(status, until) {
      api("POST", "/api/v1/conversations/" + id + "/status", { status: status, until: until }).then(upsert).catch(function (e) { toast(e.message); });
    }

    api("GET", "/api/v1/conversations/" + id).then(function (c) {
      upsert(c);
      var b = current && current.els.banner;
      if (b) {
        var parts = [];
        if (c.merged_into_number) parts.push(t("mergedInto", { n: "#" + c.merged_into_number }));
        if (c.merged_from && c.merged_from.length) parts.push(t("mergedFrom", { n: c.merged_from.map(function (m) { return "#" + m.number; }).join(", ") }));
        b.textContent = parts.join(" · ");
        b.hidden = !parts.length;
      }
      return api("GET", "/api/v1/conversations/" + id + "/messages?after_seq=0&limit=500");
    }).then(function (msgs) {
      if (!current || current.id !== id) return;
      msgs.forEach(addMessage);
      follow();
      markRead();
      box.focus();
    }).catch(function (e) { toast(e.message); });
    renderList();
    renderCollision();
  }

  function markRead() {
    if (!current || document.hidden) return;
    var c = convs.get(current.id);
    if (!c || current.lastSeq <= (c.read_seq || 0)) return;
    c.read_seq = current.lastSeq;
    api("POST", "/api/v1/conversations/" + current.id + "/read", { seq: current.lastSeq }).then(loadCounts).catch(function () {});
  }
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { markRead(); updateTitle(); } });

  function follow() {
    if (current && wsReady) ws.send(JSON.stringify({ type: "follow", conversation_id: current.id, after_seq: current.lastSeq }));
  }

  function renderHead() {
    if (!current) return;
    var c = convs.get(current.id);
    if (!c) return;
    var e = current.els;
    e.name.textContent = contactName(c);
    e.sub.textContent = "#" + c.number + " · " + c.inbox_name + (c.contact_email ? " · " + c.contact_email : "") + " · " + c.status +
      (c.status === "snoozed" && c.snoozed_until ? " → " + new Date(c.snoozed_until).toLocaleString(lang) : "");
    e.statusBtn.textContent = c.status === "open" ? t("resolve") : t("reopen");
    e.labels.textContent = "";
    (c.labels || []).forEach(function (l) {
      var chip = el("span", "label", l);
      var x = el("button", "chip-x", "×");
      x.type = "button";
      x.setAttribute("aria-label", "Remove label " + l);
      x.onclick = function () { api("DELETE", "/api/v1/conversations/" + c.id + "/labels/" + encodeURIComponent(l)).then(upsert).catch(function (er) { toast(er.message); }); };
      chip.appendChild(x);
      e.labels.appendChild(chip);
    });
    e.assign.textContent = "";
    e.assign.appendChild(option("", t("unassigned")));
    agents.forEach(function (a) {
      // Only colleagues who work this inbox (admins and supervisors see every inbox).
      if (a.role === "agent" && a.inbox_ids.indexOf(c.inbox_id) < 0) return;
      var dot = a.presence === "online" ? "● " : a.presence === "away" ? "◐ " : "○ ";
      e.assign.appendChild(option(String(a.id), dot + a.name + (me && a.id === me.id ? " (me)" : ""), c.assignee_id === a.id));
    });
    e.team.textContent = "";
    e.team.appendChild(option("", t("noTeam")));
    teams.forEach(function (tm) { e.team.appendChild(option(String(tm.id), tm.name, c.team_id === tm.id)); });
    e.prio.value = c.priority || "none";
    e.more.textContent = "";
    e.more.appendChild(option("", "…"));
    [["pending", t("pending")], ["snooze1h", t("snooze") + " " + t("snooze1h")], ["snoozeTomorrow", t("snooze") + " " + t("snoozeTomorrow")],
      ["snoozeWeek", t("snooze") + " " + t("snoozeWeek")], ["closed", t("close")], ["label", t("addLabel") + "…"], ["merge", t("merge")]]
      .forEach(function (p) { e.more.appendChild(option(p[0], p[1])); });
  }

  function renderCollision() {
    if (!current) return;
    var v = viewers.get(current.id), ty = typers.get(current.id);
    var parts = [];
    if (ty && ty.size) Array.from(ty.values()).forEach(function (n) { parts.push(t("typingAgent", { name: n })); });
    if (v && v.size) parts.push(t("viewing", { names: Array.from(v.values()).join(", ") }));
    current.els.collision.textContent = parts.join(" · ");
    current.els.collision.classList.toggle("on", parts.length > 0);
  }

  function addMessage(m) {
    if (!current || m.conversation_id !== current.id || current.seen.has(m.seq)) return;
    current.seen.add(m.seq);
    if (m.seq > current.lastSeq) current.lastSeq = m.seq;
    var log = current.els.log;
    var b = el("div", "msg " + m.direction);
    b.dataset.seq = m.seq;
    b.dataset.id = m.id;
    var meta = el("div", "msg-meta");
    var who = m.direction === "incoming" ? contactName(convs.get(current.id) || {}) :
      m.direction === "system" ? "" : m.direction === "bot" ? (m.author_name || t("bot")) + " · " + t("bot") : (m.author_name || "Agent");
    if (m.direction === "note") who += " · " + t("privateTag");
    meta.textContent = (who ? who + " · " : "") + clock(m.created_at);
    var x = m.extras || {};
    // A recorded event is said in the agent's language; the stored body is its English text.
    var evKey = x.event ? "event_" + x.event.kind : null;
    var bodyText = evKey && STRINGS.en[evKey] ? t(evKey, { t: x.event.ticket, a: x.event.address || "" }) : m.body;
    b.appendChild(el("div", "msg-body", bodyText));
    if (x.links && x.links.length) {
      var links = el("div", "msg-links");
      x.links.forEach(function (l) {
        var href = /^\/[^\/\\]/.test(l.url) || /^https?:\/\//i.test(l.url) ? l.url : null;
        if (!href) return;
        var a = el("a", null, l.title);
        a.href = href; a.target = "_blank"; a.rel = "noopener noreferrer";
        links.appendChild(a);
      });
      b.appendChild(links);
    }
    if (x.buttons && x.buttons.length) b.appendChild(el("div", "msg-buttons muted", t("botOffered", { b: x.buttons.join(" · ") })));
    (x.files_not_kept || []).forEach(function (f) {
      b.appendChild(el("div", "msg-why muted", t("fileNotKept", { n: f.name, s: sizeText(f.size) })));
    });
    if (x.bot) {
      var why = t("botIntent", { i: x.bot.intent, c: Math.round(x.bot.confidence * 100), l: x.bot.language });
      if (x.bot.generated) why += " · " + t("botGenerated");
      if (x.bot.handoff) why += " · " + t("botHandoff", { r: x.bot.handoff });
      b.appendChild(el("div", "msg-why muted", why));
    }
    b.appendChild(meta);
    var after = null;
    var nodes = log.querySelectorAll(".msg");
    for (var i = 0; i < nodes.length; i++) if (Number(nodes[i].dataset.seq) > m.seq) { after = nodes[i]; break; }
    log.insertBefore(b, after);
    if (m.direction === "incoming") current.els.typing.textContent = "";
    log.scrollTop = log.scrollHeight;
    if (current.emailMap && current.emailMap[m.id]) decorateEmail(current.emailMap[m.id]);
    if (current.emailConv) loadEmails();
  }

  // A file name as it is stored, never reordered on screen: bidirectional controls (a name
  // stored before they were refused) are dropped, so "\u202Egpj.exe" cannot pass for "exe.jpg".
  function plainName(name) {
    return String(name).replace(/[\u200E\u200F\u061C\u202A-\u202E\u2066-\u2069]/g, "");
  }

  // A file size for people: KB below a megabyte, MB with one decimal above.
  function sizeText(bytes) {
    return bytes < 1024 * 1024 ? Math.max(1, Math.round(bytes / 1024)) + " KB" : (bytes / 1048576).toFixed(1) + " MB";
  }

  // ---- email: subject, addresses, the original (sandboxed), attachments, delivery -------------
  var emailTimer = null;
  function loadEmails() {
    if (!current) return;
    var id = current.id;
    clearTimeout(emailTimer);
    emailTimer = setTimeout(function () {
      api("GET", "/api/v1/conversations/" + id + "/emails").then(function (list) {
        if (!current || current.id !== id) return;
        current.emailConv = list.length > 0;
        current.els.attach.hidden = !current.emailConv;
        current.emailMap = {};
        list.forEach(function (e) { current.emailMap[e.message_id] = e; decorateEmail(e); });
      }).catch(function () {});
    }, 150);
  }
  function decorateEmail(e) {
    var b = current.els.log.querySelector('.msg[data-id="' + e.message_id + '"]');
    if (!b) return;
    var box = b.querySelector(".email-meta");
    if (!box) {
      box = el("div", "email-meta");
      b.insertBefore(box, b.firstChild);
    }
    box.textContent = "";
    if (e.subject) box.appendChild(el("div", "email-subject", e.subject));
    if (e.delivery === "received") {
      box.appendChild(el("div", "email-addr", t("emailFrom", { a: e.from })));
    }
    if (e.cc && e.cc.length) box.appendChild(el("div", "email-addr", t("emailCc", { a: e.cc.join(", ") })));
    if (e.delivery !== "received") {
      // A mail sent with a detail went out, but some Cc's were refused: named here.
      var key = e.delivery === "sent" && e.delivery_detail ? "delivery_sent_partly" : "delivery_" + e.delivery;
      var d = el("div", "delivery delivery-" + e.delivery, t(key, { d: netText(e.delivery_detail) }));
      b.appendChild(d);
      var old = b.querySelectorAll(".delivery");
      for (var i = 0; i < old.length - 1; i++) old[i].remove();
    }
    if (e.attachments && e.attachments.length) {
      var files = el("ul", "attachments");
      files.setAttribute("aria-label", t("attachmentsWord"));
      e.attachments.forEach(function (a) {
        var li = el("li");
        var link = el("a", null, plainName(a.filename) + " (" + sizeText(a.size) + ")");
        link.href = "/api/v1/attachments/" + a.id;
        link.setAttribute("download", plainName(a.filename));
        li.appendChild(link);
        files.appendChild(li);
      });
      box.appendChild(files);
    }
    if (e.html) {
      var toggle = el("button", "link show-original", t("showOriginal"));
      toggle.type = "button";
      var frame = null;
      toggle.onclick = function () {
        if (frame) { frame.remove(); frame = null; toggle.textContent = t("showOriginal"); return; }
        // Sanitised by the server, and shown in a sandbox without scripts, forms or our origin.
        frame = document.createElement("iframe");
        frame.className = "email-original";
        frame.setAttribute("sandbox", "");
        frame.setAttribute("referrerpolicy", "no-referrer");
        frame.title = e.subject || t("showOriginal");
        frame.srcdoc = e.html;
        b.insertBefore(frame, b.querySelector(".msg-meta"));
        toggle.textContent = t("hideOriginal");
      };
      box.appendChild(toggle);
    }
  }

  function upsert(c) {
    var prev = convs.get(c.id);
    if (prev && c.read_seq == null) c.read_seq = prev.read_seq;
    convs.set(c.id, c);
    renderList();
    if (current && current.id === c.id) { renderHead(); if (current.emailConv) loadEmails(); }
    return c;
  }

  // ---- notifications ---------------------------------------------------------------------
  var notifications = [];
  function renderBell() {
    var n = notifications.filter(function (x) { return !x.read_at; }).length;
    bellCount.textContent = n ? String(n) : "";
  }
  function notificationText(n) {
    return n.kind === "mention" ? t("mention", { who: n.actor_name || "", n: "#" + n.conversation_number }) : t("assigned", { n: "#" + n.conversation_number });
  }
  function loadNotifications() {
    return api("GET", "/api/v1/notifications").then(function (list) { notifications = list; renderBell(); });
  }
  bellBtn.addEventListener("click", function () {
    notesDlg.textContent = "";
    notesDlg.appendChild(el("h2", null, t("notifications")));
    if (!notifications.length) notesDlg.appendChild(el("p", "muted", t("noNotifications")));
    var ul = el("ul", "notes");
    notifications.forEach(function (n) {
      var li = el("li", n.read_at ? "read" : "unread");
      li.appendChild(el("div", null, notificationText(n)));
      if (n.kind === "mention") li.appendChild(el("div", "muted", n.excerpt));
      li.addEventListener("click", function () {
        notesDlg.close();
        api("POST", "/api/v1/notifications/read", { id: n.id }).then(loadNotifications);
        openConversation(n.conversation_id);
      });
      ul.appendChild(li);
    });
    notesDlg.appendChild(ul);
    var all = el("button", "ghost", t("markAllRead"));
    all.onclick = function () { api("POST", "/api/v1/notifications/read", {}).then(loadNotifications); notesDlg.close(); };
    var close = el("button", "ghost", t("closeBtn"));
    close.onclick = function () { notesDlg.close(); };
    notesDlg.appendChild(all); notesDlg.appendChild(close);
    notesDlg.showModal();
  });

  // ---- presence and language -------------------------------------------------------------
  function renderAway() {
    awayBtn.textContent = me && me.away ? "◐ " + t("away") : "● " + t("online");
    awayBtn.classList.toggle("is-away", !!(me && me.away));
  }
  awayBtn.addEventListener("click", function () {
    api("PATCH", "/api/v1/me", { away: !me.away }).then(function (a) { me.away = a.away; renderAway(); }).catch(function (e) { toast(e.message); });
  });
  langSelect.addEventListener("change", function () {
    api("PATCH", "/api/v1/me", { locale: langSelect.value }).then(function () { location.reload(); }).catch(function (e) { toast(e.message); });
  });

  // ---- live connection -------------------------------------------------------------------
  function setSet(map, convId, agentId, name, on) {
    var s = map.get(convId) || new Map();
    if (on) s.set(agentId, name); else s.delete(agentId);
    map.set(convId, s);
  }
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
          connEl.textContent = t("live"); connEl.className = "conn live";
          // Whatever happened while we were away: reload the list (and colleagues' presence,
          // ours included now that we are connected), resume the open conversation.
          refreshMe().catch(function () {});
          loadList();
          follow();
          break;
        case "access":
          // Our inboxes or role changed: what we may see is different now.
          refreshMe().then(loadList);
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
            } else {
              setTimeout(markRead, 0);
            }
          }
          loadCounts();
          break;
        }
        case "message":
          addMessage(f.message);
          break;
        case "typing":
          if (f.who.kind === "contact") {
            if (current && f.conversation_id === current.id) current.els.typing.textContent = f.on ? t("customerTyping") : "";
          } else {
            setSet(typers, f.conversation_id, f.who.id, f.who.name, f.on);
            renderCollision();
          }
          break;
        case "viewing":
          setSet(viewers, f.conversation_id, f.agent_id, f.name, f.on);
          if (!f.on) setSet(typers, f.conversation_id, f.agent_id, f.name, false);
          renderCollision();
          renderList();
          break;
        case "notification":
          notifications.unshift(f.notification);
          renderBell();
          ding();
          toast(notificationText(f.notification));
          break;
        case "resync":
          loadList();
          break;
      }
    };
    ws.onclose = function (ev) {
      wsReady = false;
      if (ev.code === 4401) { location.href = "/login"; return; }
      connEl.textContent = t("reconnecting"); connEl.className = "conn down";
      attempt++;
      var delay = Math.min(10000, 500 * Math.pow(2, attempt - 1));
      setTimeout(connect, delay / 2 + Math.random() * delay / 2);
    };
  }

  // ---- settings --------------------------------------------------------------------------
  // Tabs: my account (capacity, password, API tokens), canned responses, inboxes (widget, routing,
  // members), people and teams (admins), audit log (admins).
  function field(labelText, input, cls) {
    var l = el("label", cls || null, labelText);
    l.appendChild(input);
    return l;
  }
  function input(type, value, attrs) {
    var i = el("input");
    i.type = type;
    if (value != null) i.value = String(value);
    Object.keys(attrs || {}).forEach(function (k) { i.setAttribute(k, attrs[k]); });
    return i;
  }
  function checkbox(checked) { var c = input("checkbox"); c.checked = !!checked; return c; }
  function saved() { toast(t("saved")); }
  function fail(e) { toast(e.message); }

  var tabs = [
    ["me", "tabMe"], ["canned", "tabCanned"], ["inboxes", "tabInboxes"], ["help", "tabHelp"], ["people", "tabPeople"], ["audit", "tabAudit"], ["email", "tabEmail"], ["bot", "tabBot"], ["jobs", "tabJobs"]
  ];
  function openSettings(tab) {
    settingsDlg.textContent = "";
    var nav = el("nav", "settings-tabs");
    var body = el("div", "settings-body");
    tabs.forEach(function (tb) {
      if ((tb[0] === "people" || tb[0] === "audit" || tb[0] === "jobs" || tb[0] === "email" || tb[0] === "bot") && me.role !== "admin") return;
      if (tb[0] === "help" && me.role === "agent") return;
      var b = el("button", "tab" + (tb[0] === tab ? " active" : ""), t(tb[1]));
      b.type = "button";
      b.onclick = function () { openSettings(tb[0]); };
      nav.appendChild(b);
    });
    var close = el("button", "ghost close-x", "×");
    close.setAttribute("aria-label", t("closeBtn"));
    close.onclick = function () { settingsDlg.close(); };
    nav.appendChild(close);
    settingsDlg.appendChild(nav);
    settingsDlg.appendChild(body);
    ({ me: meTab, canned: cannedTab, inboxes: inboxesTab, help: helpTab, people: peopleTab, audit: auditTab, email: emailTab, bot: botTab, jobs: jobsTab })[tab](body);
    if (!settingsDlg.open) settingsDlg.showModal();
  }
  settingsBtn.addEventListener("click", function () { openSettings("me"); });

  function meTab(body) {
    var f = el("form", "inbox-form");
    var cap = input("number", me.capacity, { min: "0", max: "1000" });
    f.appendChild(field(t("capacity"), cap));
    var save = el("button", "primary", t("save")); save.type = "submit";
    f.appendChild(save);
    f.addEventListener("submit", function (e) {
      e.preventDefault();
      api("PATCH", "/api/v1/me", { capacity: Number(cap.value) }).then(function (a) { me.capacity = a.capacity; saved(); }).catch(fail);
    });
    body.appendChild(f);

    body.appendChild(el("h3", null, t("changePassword")));
    var pf = el("form", "inbox-form");
    var cur = input("password", null, { autocomplete: "current-password" });
    var next = input("password", null, { autocomplete: "new-password", minlength: "10" });
    pf.appendChild(field(t("currentPassword"), cur));
    pf.appendChild(field(t("newPassword"), next));
    pf.appendChild(el("p", "muted", t("passwordNote")));
    var ps = el("button", "primary", t("changePassword")); ps.type = "submit";
    pf.appendChild(ps);
    pf.addEventListener("submit", function (e) {
      e.preventDefault();
      api("POST", "/api/v1/me/password", { current_password: cur.value, new_password: next.value })
        .then(function () { location.reload(); }).catch(fail);
    });
    body.appendChild(pf);

    body.appendChild(el("h3", null, t("apiTokens")));
    body.appendChild(el("p", "muted", t("apiTokensNote")));
    var list = el("ul", "plain");
    body.appendChild(list);
    function load() {
      api("GET", "/api/v1/tokens").then(function (tokens) {
        list.textContent = "";
        tokens.forEach(function (tk) {
          var li = el("li", null, tk.name + " · " + tk.prefix + "… " + (tk.survives_password_change ? "(" + t("survivesTag") + ") " : ""));
          var rm = el("button", "ghost", t("revoke"));
          rm.onclick = function () { api("DELETE", "/api/v1/tokens/" + tk.id).then(load).catch(fail); };
          li.appendChild(rm);
          list.appendChild(li);
        });
      }).catch(fail);
    }
    load();
    var tf = el("form", "row-form");
    var name = input("text", null, { maxlength: "80", required: "" });
    name.setAttribute("aria-label", t("tokenName"));
    name.placeholder = t("tokenName");
    var mk = el("button", "ghost", t("createToken")); mk.type = "submit";
    var shown = el("pre", "snippet"); shown.hidden = true;
    tf.classList.add("token-form");
    var keep = checkbox(false);
    var keepLabel = el("label", "check"); keepLabel.appendChild(keep); keepLabel.appendChild(document.createTextNode(" " + t("tokenSurvives")));
    // Such a token outlives a password change: the current password is asked for.
    var keepPw = input("password", null, { autocomplete: "current-password" });
    keepPw.placeholder = t("currentPassword"); keepPw.setAttribute("aria-label", t("currentPassword")); keepPw.hidden = true;
    keep.onchange = function () { keepPw.hidden = !keep.checked; keepPw.required = keep.checked; };
    tf.appendChild(name); tf.appendChild(mk); tf.appendChild(keepLabel); tf.appendChild(keepPw);
    tf.addEventListener("submit", function (e) {
      e.preventDefault();
      var req = { name: name.value, survives_password_change: keep.checked };
      if (keep.checked) req.current_password = keepPw.value;
      api("POST", "/api/v1/tokens", req).then(function (r) {
        shown.textContent = r.token; shown.hidden = false; name.value = ""; keep.checked = false; keepPw.value = ""; keepPw.hidden = true; load();
      }).catch(fail);
    });
    body.appendChild(tf);
    body.appendChild(shown);
    body.appendChild(el("p", "muted", t("shortcuts")));
  }

  function cannedTab(body) {
    body.appendChild(el("p", "muted", t("cannedNote")));
    var table = el("table", "grid");
    body.appendChild(table);
    function load() {
      api("GET", "/api/v1/canned").then(function (rows) {
        cannedList = rows;
        table.textContent = "";
        rows.forEach(function (c) {
          var tr = el("tr");
          tr.appendChild(el("td", null, "/" + c.shortcut));
          tr.appendChild(el("td", null, c.locale || "*"));
          tr.appendChild(el("td", null, c.owner_id ? t("personal") : t("shared")));
          var td = el("td"); td.appendChild(el("b", null, c.title)); td.appendChild(el("div", "muted pre", c.body));
          tr.appendChild(td);
          var act = el("td");
          if (c.owner_id === me.id || (!c.owner_id && me.role !== "agent")) {
            var ed = el("button", "ghost edit", t("edit"));
            ed.onclick = function () {
              editing = c;
              sc.value = c.shortcut; lc.value = c.locale || ""; ti.value = c.title; bd.value = c.body;
              sh.checked = !c.owner_id; sh.disabled = true;
              save.textContent = t("save") + " (/" + c.shortcut + ")";
              sc.focus();
            };
            var rm = el("button", "ghost", t("delete"));
            rm.onclick = function () { api("DELETE", "/api/v1/canned/" + c.id).then(load).catch(fail); };
            act.appendChild(ed);
            act.appendChild(rm);
          }
          tr.appendChild(act);
          table.appendChild(tr);
        });
      }).catch(fail);
    }
    load();
    body.appendChild(el("h3", null, t("newCanned")));
    var f = el("form", "inbox-form");
    var sc = input("text", null, { maxlength: "32", required: "" });
    var lc = el("select");
    lc.appendChild(option("", t("anyLanguage")));
    [["en", "English"], ["id", "Bahasa Indonesia"], ["th", "ไทย"], ["nl", "Nederlands"]].forEach(function (l) { lc.appendChild(option(l[0], l[1])); });
    var ti = input("text", null, { maxlength: "120", required: "" });
    var bd = el("textarea"); bd.maxLength = 10000; bd.required = true;
    bd.placeholder = "Hi {{contact.first_name|there}}, … {{agent.first_name}} · {{conversation.number}}";
    var sh = checkbox(false);
    f.appendChild(field(t("shortcut"), sc));
    f.appendChild(field(t("language"), lc));
    f.appendChild(field(t("title"), ti));
    f.appendChild(field(t("text"), bd));
    if (me.role !== "agent") {
      var l = el("label", "check"); l.appendChild(sh); l.appendChild(document.createTextNode(" " + t("sharedWithAll")));
      f.appendChild(l);
    }
    var save = el("button", "primary", t("save")); save.type = "submit";
    f.appendChild(save);
    var editing = null;
    f.addEventListener("submit", function (e) {
      e.preventDefault();
      var body = { shortcut: sc.value, locale: lc.value || null, title: ti.value, body: bd.value, shared: sh.checked };
      var req = editing ? api("PUT", "/api/v1/canned/" + editing.id, body) : api("POST", "/api/v1/canned", body);
      req.then(function () {
        editing = null; sh.disabled = false; save.textContent = t("save");
        sc.value = ""; ti.value = ""; bd.value = ""; load(); saved();
      }).catch(fail);
    });
    body.appendChild(f);
  }

  // The help center (admins and supervisors): articles with a translation per language, each a
  // draft or published, and the shipping and returns policy.
  var LANGS = [["en", "English"], ["id", "Bahasa Indonesia"], ["th", "ไทย"], ["nl", "Nederlands"]];
  function helpTab(body) {
    var table = el("table", "grid kb-articles");
    body.appendChild(el("h3", null, t("articles")));
    body.appendChild(table);
    var editor = el("form", "inbox-form kb-editor");
    editor.hidden = true;
    body.appendChild(editor);
    var categories = [];
    function catName(c) {
      var tx = c.texts.filter(function (x) { return x.locale === lang; })[0] || c.texts[0];
      return tx ? tx.name : c.slug;
    }
    function load() {
      Promise.all([api("GET", "/api/v1/kb/categories"), api("GET", "/api/v1/kb/articles")]).then(function (r) {
        categories = r[0];
        table.textContent = "";
        r[1].forEach(function (a) {
          var tr = el("tr");
          var title = a.translations.filter(function (x) { return x.locale === lang; })[0] || a.translations[0];
          var td = el("td"); td.appendChild(el("b", null, title ? title.title : a.slug)); td.appendChild(el("div", "muted", "/" + a.slug));
          tr.appendChild(td);
          var langs = el("td", "kb-langs");
          LANGS.forEach(function (l) {
            var tx = a.translations.filter(function (x) { return x.locale === l[0]; })[0];
            var b = el("button", "ghost kb-lang " + (tx ? tx.status : "missing"), l[0] + " · " + (tx ? t(tx.status) : t("missingLang")));
            b.type = "button";
            b.setAttribute("data-locale", l[0]);
            b.onclick = function () { edit(a, l[0]); };
            langs.appendChild(b);
          });
          tr.appendChild(langs);
          tr.setAttribute("data-slug", a.slug);
          table.appendChild(tr);
        });
      }).catch(fail);
    }
    function edit(a, locale) {
      var tx = a.translations.filter(function (x) { return x.locale === locale; })[0];
      editor.textContent = "";
      editor.hidden = false;
      editor.appendChild(el("h3", null, "/" + a.slug + " · " + LANGS.filter(function (l) { return l[0] === locale; })[0][1]));
      var ti = input("text", tx ? tx.title : "", { maxlength: "200", required: "", name: "title" });
      var bd = el("textarea"); bd.name = "body"; bd.rows = 12; bd.maxLength = 100000; bd.value = tx ? tx.body : "";
      var st = el("select"); st.name = "status";
      st.appendChild(option("draft", t("draft"))); st.appendChild(option("published", t("published")));
      st.value = tx ? tx.status : "draft";
      editor.appendChild(field(t("title"), ti));
      editor.appendChild(field(t("markdownText"), bd));
      editor.appendChild(field(t("status"), st));
      var save = el("button", "primary", t("save")); save.type = "submit";
      editor.appendChild(save);
      if (tx) {
        var rm = el("button", "ghost", t("deleteTranslation")); rm.type = "button";
        rm.onclick = function () {
          api("DELETE", "/api/v1/kb/articles/" + a.id + "/translations/" + locale).then(function () { editor.hidden = true; load(); saved(); }).catch(fail);
        };
        editor.appendChild(rm);
        if (tx.status === "published") {
          var view = el("a", "kb-view", t("view"));
          view.href = "/help/" + locale + "/a/" + encodeURIComponent(a.slug);
          view.target = "_blank"; view.rel = "noopener";
          editor.appendChild(view);
        }
      }
      editor.onsubmit = function (e) {
        e.preventDefault();
        api("PUT", "/api/v1/kb/articles/" + a.id + "/translations/" + locale, { title: ti.value, body: bd.value, status: st.value })
          .then(function () { editor.hidden = true; load(); saved(); }).catch(fail);
      };
      ti.focus();
    }
    load();

    body.appendChild(el("h3", null, t("newArticle")));
    var nf = el("form", "inbox-form kb-new");
    var slug = input("text", null, { maxlength: "80", required: "", pattern: "[a-z0-9]+(-[a-z0-9]+)*", name: "slug" });
    var cat = el("select"); cat.name = "category";
    nf.appendChild(field(t("slug"), slug));
    nf.appendChild(field(t("category"), cat));
    var create = el("button", "primary", t("newArticle")); create.type = "submit";
    nf.appendChild(create);
    api("GET", "/api/v1/kb/categories").then(function (cs) {
      cat.appendChild(option("", t("noCategory")));
      cs.forEach(function (c) { cat.appendChild(option(String(c.id), catName(c))); });
    }).catch(fail);
    nf.addEventListener("submit", function (e) {
      e.preventDefault();
      api("POST", "/api/v1/kb/articles", { slug: slug.value, category_id: cat.value ? Number(cat.value) : null })
        .then(function (a) { slug.value = ""; load(); edit(a, lang); }).catch(fail);
    });
    body.appendChild(nf);

    body.appendChild(el("h3", null, t("policy")));
    body.appendChild(el("p", "muted", t("policyNote")));
    var pf = el("form", "inbox-form kb-policy");
    var pj = el("textarea"); pj.name = "policy"; pj.rows = 16; pj.spellcheck = false; pj.className = "mono";
    pf.appendChild(pj);
    var psave = el("button", "primary", t("save")); psave.type = "submit";
    pf.appendChild(psave);
    var pview = el("a", "kb-view", t("view"));
    pview.href = "/help/" + lang + "/shipping-returns"; pview.target = "_blank"; pview.rel = "noopener";
    pf.appendChild(pview);
    api("GET", "/api/v1/policies/shipping").then(function (p) { pj.value = JSON.stringify(p, null, 2); })
      .catch(function () { pj.value = ""; });
    pf.addEventListener("submit", function (e) {
      e.preventDefault();
      var value;
      try { value = JSON.parse(pj.value); } catch (err) { toast("JSON: " + err.message); return; }
      api("PUT", "/api/v1/policies/shipping", value).then(saved).catch(fail);
    });
    body.appendChild(pf);
  }

  function inboxesTab(body) {
    Promise.all([api("GET", "/api/v1/inboxes"), me.role === "admin" ? api("GET", "/api/v1/agents") : Promise.resolve([])]).then(function (r) {
      var inboxes = r[0], people = r[1];
      inboxes.forEach(function (inbox) {
        var sec = el("section", "inbox-settings");
        sec.appendChild(el("h3", null, inbox.name));
        if (inbox.channel !== "email") {
          sec.appendChild(el("p", "muted", t("embed")));
          sec.appendChild(el("pre", "snippet", '<script src="' + location.origin + '/widget.js" data-inbox="' + inbox.widget_key + '" async></script>'));
        }
        if (me.role === "admin") {
          var f = el("form", "inbox-form");
          var g = el("textarea"); g.value = inbox.greeting; g.maxLength = 500;
          var c = input("color", inbox.color);
          var routing = el("select", "routing");
          routing.appendChild(option("none", t("rrNone"), inbox.auto_assign === "none"));
          routing.appendChild(option("round_robin", t("rr"), inbox.auto_assign === "round_robin"));
          routing.appendChild(option("least_loaded", t("ll"), inbox.auto_assign === "least_loaded"));
          var re = checkbox(inbox.reassign_on_offline);
          var ack = checkbox(inbox.auto_ack);
          var mins = input("number", inbox.response_minutes, { min: "1", max: "10080" });
          var l4 = el("label", "check"); l4.appendChild(re); l4.appendChild(document.createTextNode(" " + t("reassign")));
          var l5 = el("label", "check"); l5.appendChild(ack); l5.appendChild(document.createTextNode(" " + t("ack")));
          [field(t("greeting"), g), field(t("colour"), c), field(t("routing"), routing), l4, l5, field(t("responseMinutes"), mins)]
            .forEach(function (x) { f.appendChild(x); });
          var members = el("fieldset", "members");
          members.appendChild(el("legend", null, t("members")));
          var boxes = [];
          people.forEach(function (p) {
            var cb = checkbox(p.inbox_ids.indexOf(inbox.id) >= 0);
            cb.dataset.id = p.id;
            boxes.push(cb);
            var l = el("label", "check"); l.appendChild(cb);
            l.appendChild(document.createTextNode(" " + p.name + (p.role !== "agent" ? " (" + p.role + ")" : "")));
            members.appendChild(l);
          });
          f.appendChild(members);
          var save = el("button", "primary", t("save")); save.type = "submit";
          f.appendChild(save);
          f.addEventListener("submit", function (e) {
            e.preventDefault();
            var ids = boxes.filter(function (b) { return b.checked; }).map(function (b) { return Number(b.dataset.id); });
            api("PATCH", "/api/v1/inboxes/" + inbox.id, {
              greeting: g.value, color: c.value, auto_assign: routing.value, reassign_on_offline: re.checked,
              auto_ack: ack.checked, response_minutes: Number(mins.value)
            }).then(function () { return api("PUT", "/api/v1/inboxes/" + inbox.id + "/members", { agent_ids: ids }); })
              .then(saved).catch(fail);
          });
          sec.appendChild(f);
        }
        body.appendChild(sec);
      });
    }).catch(fail);
  }

  function peopleTab(body) {
    Promise.all([api("GET", "/api/v1/agents"), api("GET", "/api/v1/teams")]).then(function (r) {
      var people = r[0], teamList = r[1];
      var table = el("table", "grid");
      people.forEach(function (p) {
        var tr = el("tr");
        tr.appendChild(el("td", null, (p.presence === "online" ? "● " : p.presence === "away" ? "◐ " : "○ ") + p.name));
        tr.appendChild(el("td", "muted", p.email));
        var role = el("select");
        ["admin", "supervisor", "agent"].forEach(function (ro) { role.appendChild(option(ro, ro, p.role === ro)); });
        role.disabled = p.id === me.id;
        role.setAttribute("aria-label", "Role of " + p.name);
        role.onchange = function () { api("PATCH", "/api/v1/agents/" + p.id, { role: role.value }).then(saved).catch(fail); };
        var td = el("td"); td.appendChild(role); tr.appendChild(td);
        tr.appendChild(el("td", "muted", t("capacityShort") + " " + p.capacity));
        var act = el("td");
        if (p.deactivated_at) { tr.classList.add("deactivated"); act.appendChild(el("span", "muted", t("deactivated") + " ")); }
        if (p.id !== me.id) {
          var toggle = el("button", "ghost", p.deactivated_at ? t("activate") : t("deactivate"));
          toggle.type = "button";
          toggle.onclick = function () {
            if (!p.deactivated_at && !confirm(t("confirmDeactivate", { name: p.name }))) return;
            api("PUT", "/api/v1/agents/" + p.id + "/active", { active: !!p.deactivated_at }).then(function () { openSettings("people"); saved(); }).catch(fail);
          };
          act.appendChild(toggle);
        }
        tr.appendChild(act);
        table.appendChild(tr);
      });
      body.appendChild(table);

      body.appendChild(el("h3", null, t("newAgent")));
      var f = el("form", "inbox-form");
      var nm = input("text", null, { required: "", maxlength: "120" });
      var em = input("email", null, { required: "" });
      var pw = input("password", null, { required: "", minlength: "10", autocomplete: "new-password" });
      var ro = el("select");
      ["agent", "supervisor", "admin"].forEach(function (x) { ro.appendChild(option(x, x)); });
      [field(t("name"), nm), field("Email", em), field(t("newPassword"), pw), field(t("role"), ro)].forEach(function (x) { f.appendChild(x); });
      var mk = el("button", "primary", t("save")); mk.type = "submit";
      f.appendChild(mk);
      f.addEventListener("submit", function (e) {
        e.preventDefault();
        api("POST", "/api/v1/agents", { name: nm.value, email: em.value, password: pw.value, role: ro.value })
          .then(function () { openSettings("people"); saved(); }).catch(fail);
      });
      body.appendChild(f);

      body.appendChild(el("h3", null, t("teams")));
      teamList.forEach(function (tm) {
        var tf = el("form", "inbox-form");
        var fs = el("fieldset", "members");
        fs.appendChild(el("legend", null, tm.name));
        var boxes = [];
        people.forEach(function (p) {
          var cb = checkbox(tm.members.indexOf(p.id) >= 0);
          cb.dataset.id = p.id;
          boxes.push(cb);
          var l = el("label", "check"); l.appendChild(cb); l.appendChild(document.createTextNode(" " + p.name));
          fs.appendChild(l);
        });
        tf.appendChild(fs);
        var sv = el("button", "ghost", t("save")); sv.type = "submit";
        tf.appendChild(sv);
        tf.addEventListener("submit", function (e) {
          e.preventDefault();
          var ids = boxes.filter(function (b) { return b.checked; }).map(function (b) { return Number(b.dataset.id); });
          api("PUT", "/api/v1/teams/" + tm.id + "/members", { agent_ids: ids }).then(saved).catch(fail);
        });
        body.appendChild(tf);
      });
      var nt = el("form", "row-form");
      var tn = input("text", null, { required: "", maxlength: "120" });
      tn.placeholder = t("newTeam");
      tn.setAttribute("aria-label", t("newTeam"));
      var tb = el("button", "ghost", t("save")); tb.type = "submit";
      nt.appendChild(tn); nt.appendChild(tb);
      nt.addEventListener("submit", function (e) {
        e.preventDefault();
        api("POST", "/api/v1/teams", { name: tn.value }).then(function () { openSettings("people"); }).catch(fail);
      });
      body.appendChild(nt);
    }).catch(fail);
  }

  function jobsTab(body) {
    api("GET", "/api/v1/jobs?limit=100").then(function (rows) {
      var table = el("table", "grid");
      rows.forEach(function (j) {
        var tr = el("tr");
        tr.appendChild(el("td", "muted", new Date(j.updated_at).toLocaleString(lang)));
        tr.appendChild(el("td", null, j.kind));
        tr.appendChild(el("td", "pill " + j.status, j.status));
        tr.appendChild(el("td", "muted", j.attempts + "/" + j.max_attempts + (j.last_error ? " · " + j.last_error : "")));
        var act = el("td");
        if (j.status === "failed") {
          var b = el("button", "ghost", t("retry"));
          b.onclick = function () { api("POST", "/api/v1/jobs/" + j.id + "/retry", {}).then(function () { openSettings("jobs"); }).catch(fail); };
          act.appendChild(b);
        }
        tr.appendChild(act);
        table.appendChild(tr);
      });
      body.appendChild(table);
    }).catch(fail);
  }

  // Email inboxes: connect a mailbox, its servers, "check now", and received mail an admin may
  // need to look at (unreadable, held by the hourly limit, from our own address).
  function serverFields(f, title, server, defPort, defSecurity) {
    var box = el("fieldset", "mail-server");
    box.appendChild(el("legend", null, title));
    var host = input("text", server ? server.host : "", { placeholder: t("noMailServer") });
    var port = input("number", server ? server.port : defPort, { min: "1", max: "65535" });
    var sec = el("select");
    ["tls", "starttls", "none"].forEach(function (v) { sec.appendChild(option(v, v, (server ? server.security : defSecurity) === v)); });
    var user = input("text", server ? server.username : "", { autocomplete: "off" });
    var pass = input("password", server ? server.password : "", { autocomplete: "new-password" });
    box.appendChild(field(t("host"), host)); box.appendChild(field(t("port"), port));
    box.appendChild(field(t("security"), sec)); box.appendChild(field(t("username"), user));
    box.appendChild(field(t("password"), pass));
    f.appendChild(box);
    return function () {
      if (!host.value.trim()) return null;
      return { host: host.value.trim(), port: Number(port.value), security: sec.value, username: user.value, password: pass.value };
    };
  }
  function emailForm(settings, onSubmit, withName) {
    var f = el("form", "inbox-form email-form");
    var name = input("text", "Email", { maxlength: "80" });
    if (withName) f.appendChild(field(t("inboxName"), name));
    var addr = input("email", settings ? settings.address : "", { required: "" });
    var from = input("text", settings ? settings.from_name : "", { required: "", maxlength: "100" });
    var folder = input("text", settings ? settings.imap_folder : "INBOX");
    var rate = input("number", settings ? settings.max_per_sender_per_hour : 30, { min: "1", max: "1000" });
    f.appendChild(field(t("emailAddress"), addr)); f.appendChild(field(t("fromName"), from));
    var imap = serverFields(f, t("imapServer"), settings && settings.imap, 993, "tls");
    f.appendChild(field(t("folder"), folder));
    var smtp = serverFields(f, t("smtpServer"), settings && settings.smtp, 587, "starttls");
    f.appendChild(field(t("perHour"), rate));
    var save = el("button", "primary", withName ? t("connectMailbox") : t("save")); save.type = "submit";
    f.appendChild(save);
    f.addEventListener("submit", function (e) {
      e.preventDefault();
      onSubmit({ address: addr.value, from_name: from.value, imap: imap(), imap_folder: folder.value, smtp: smtp(), max_per_sender_per_hour: Number(rate.value) }, name.value);
    });
    return f;
  }
  function emailTab(body) {
    api("GET", "/api/v1/inboxes").then(function (inboxes) {
      inboxes.filter(function (i) { return i.channel === "email"; }).forEach(function (inbox) {
        var sec = el("section", "inbox-settings");
        sec.appendChild(el("h3", null, inbox.name));
        body.appendChild(sec);
        api("GET", "/api/v1/inboxes/" + inbox.id + "/email").then(function (mail) {
          var state = mail.fetch_error ? t("fetchFailed", { e: netText(mail.fetch_error) }) :
            mail.fetched_at ? t("lastFetch", { when: new Date(mail.fetched_at).toLocaleString(lang) }) : "";
          if (state) sec.appendChild(el("p", mail.fetch_error ? "error-text" : "muted", state));
          sec.appendChild(emailForm(mail.settings, function (settings) {
            api("PUT", "/api/v1/inboxes/" + inbox.id + "/email", settings).then(saved).catch(fail);
          }, false));
          if (mail.settings.imap) {
            var check = el("button", "ghost check-now", t("checkNow")); check.type = "button";
            check.onclick = function () {
              check.disabled = true;
              api("POST", "/api/v1/inboxes/" + inbox.id + "/email/fetch", {})
                .then(function (r) { toast(t("fetchedN", { n: r.fetched })); })
                .catch(fail).finally(function () { check.disabled = false; });
            };
            sec.appendChild(check);
          }
        }).catch(fail);
      });
      var add = el("details", "connect-mailbox");
      add.appendChild(el("summary", null, t("connectMailbox")));
      add.appendChild(emailForm(null, function (settings, name) {
        api("POST", "/api/v1/email-inboxes", { name: name, settings: settings })
          .then(function () { saved(); openSettings("email"); }).catch(fail);
      }, true));
      body.appendChild(add);
      body.appendChild(el("h3", null, t("receivedMail")));
      return api("GET", "/api/v1/inbound-emails").then(function (rows) {
        var table = el("table", "grid inbound");
        rows.forEach(function (m) {
          var tr = el("tr");
          tr.appendChild(el("td", "muted", new Date(m.received_at).toLocaleString(lang)));
          tr.appendChild(el("td", null, m.sender || ""));
          tr.appendChild(el("td", "pill " + m.status, m.status));
          tr.appendChild(el("td", "muted", m.error || ""));
          var act = el("td");
          var raw = el("a", null, t("rawMail"));
          raw.href = "/api/v1/inbound-emails/" + m.id + "/raw";
          act.appendChild(raw);
          if (m.status === "failed" || m.status === "held" || m.status === "ignored") {
            var again = el("button", "ghost", t("reprocess")); again.type = "button";
            again.onclick = function () { api("POST", "/api/v1/inbound-emails/" + m.id + "/reprocess", {}).then(function () { openSettings("email"); }).catch(fail); };
            act.appendChild(again);
          }
          tr.appendChild(act);
          table.appendChild(tr);
        });
        body.appendChild(table);
      });
    }).catch(fail);
  }

  // The answer bot: where it answers, its name, tone and greeting, when people answer (business
  // hours), its handoff threshold, training phrases per intent and language (built-in ones shown),
  // a sentence to try, an optional language model, and how it did.
  var BOT_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
  function botTab(body) {
    Promise.all([api("GET", "/api/v1/bot"), api("GET", "/api/v1/business-hours"), api("GET", "/api/v1/inboxes"),
      api("GET", "/api/v1/bot/intents"), api("GET", "/api/v1/bot/stats?days=30")]).then(function (r) {
      var s = r[0], hours = r[1], inboxes = r[2], intents = r[3], stats = r[4];
      body.appendChild(el("p", "muted bot-stats", t("botStats", { n: stats.conversations, h: stats.handed_over, e: stats.ended,
        r: stats.mean_rating == null ? "–" : stats.mean_rating })));
      var f = el("form", "inbox-form bot-form");
      var on = el("fieldset"); on.appendChild(el("legend", null, t("botInboxes")));
      var boxes = [];
      inboxes.filter(function (i) { return i.channel === "web_widget"; }).forEach(function (i) {
        var c = checkbox(s.inboxes.indexOf(i.id) >= 0); boxes.push([i.id, c]);
        on.appendChild(field(i.name, c, "check"));
      });
      f.appendChild(on);
      var name = input("text", s.name, { required: "", maxlength: "60" });
      f.appendChild(field(t("botName"), name));
      var tone = el("select");
      tone.appendChild(option("friendly", t("toneFriendly"), s.tone === "friendly"));
      tone.appendChild(option("formal", t("toneFormal"), s.tone === "formal"));
      f.appendChild(field(t("botTone"), tone));
      var greets = {};
      LANGS.forEach(function (pair) { var l = pair[0];
        var g = el("textarea"); g.rows = 2; g.maxLength = 500; g.value = s.greeting[l] || ""; g.placeholder = t("botGreetingDefault");
        greets[l] = g; f.appendChild(field(t("botGreeting", { l: l }), g));
      });
      var threshold = input("number", s.handoff_threshold, { min: "0.05", max: "0.95", step: "0.05" });
      f.appendChild(field(t("botThreshold"), threshold));
      // Business hours.
      var hb = el("fieldset", "hours"); hb.appendChild(el("legend", null, t("hoursTitle")));
      var offset = input("number", hours.utc_offset_minutes, { min: "-720", max: "840", step: "15" });
      hb.appendChild(field(t("utcOffset"), offset));
      var dayRows = {};
      BOT_DAYS.forEach(function (d) {
        var cur = (hours.days || []).filter(function (x) { return x.day === d; })[0];
        var open = checkbox(!!cur), from = input("time", cur ? cur.open : "09:00"), to = input("time", cur ? cur.close : "17:00");
        from.setAttribute("aria-label", t("day_" + d) + " · " + t("opens"));
        to.setAttribute("aria-label", t("day_" + d) + " · " + t("closes"));
        var row = el("div", "day-row"); row.appendChild(field(t("day_" + d), open, "check")); row.appendChild(from); row.appendChild(to);
        dayRows[d] = [open, from, to]; hb.appendChild(row);
      });
      hb.appendChild(el("p", "muted", t("hoursNone")));
      f.appendChild(hb);
      // Training phrases.
      var phrases = (s.phrases || []).slice();
      var pb = el("fieldset", "phrases"); pb.appendChild(el("legend", null, t("phrasesTitle")));
      var intentSel = el("select"), langSel = el("select");
      intents.forEach(function (i) { intentSel.appendChild(option(i.intent, i.intent + " (" + i.answer + ")")); });
      LANGS.forEach(function (pair) { var l = pair[0]; langSel.appendChild(option(l, l)); });
      var builtin = el("ul", "builtin muted"), own = el("textarea"); own.rows = 4;
      function showPhrases() {
        builtin.textContent = "";
        var info = intents.filter(function (i) { return i.intent === intentSel.value; })[0];
        ((info && info.builtin[langSel.value]) || []).forEach(function (p) { builtin.appendChild(el("li", null, p)); });
        own.value = phrases.filter(function (p) { return p.intent === intentSel.value && p.language === langSel.value; })
          .map(function (p) { return p.text; }).join("\n");
      }
      own.addEventListener("input", function () {
        phrases = phrases.filter(function (p) { return !(p.intent === intentSel.value && p.language === langSel.value); });
        own.value.split("\n").map(function (x) { return x.trim(); }).filter(Boolean).forEach(function (x) {
          phrases.push({ intent: intentSel.value, language: langSel.value, text: x });
        });
      });
      intentSel.onchange = showPhrases; langSel.onchange = showPhrases;
      pb.appendChild(field(t("intent"), intentSel)); pb.appendChild(field(t("language"), langSel));
      pb.appendChild(el("div", "muted", t("builtinPhrases"))); pb.appendChild(builtin);
      pb.appendChild(field(t("shopPhrases"), own));
      showPhrases();
      f.appendChild(pb);
      // The language model.
      var lb = el("fieldset", "llm"); lb.appendChild(el("legend", null, t("llmTitle")));
      var llm = s.llm || {};
      var url = input("url", llm.base_url || "", { placeholder: "https://…/v1" }), model = input("text", llm.model || "");
      var key = input("password", llm.api_key || "", { autocomplete: "new-password" }), timeout = input("number", llm.timeout_ms || 8000, { min: "500", max: "60000" });
      lb.appendChild(field(t("llmUrl"), url)); lb.appendChild(field(t("llmModel"), model));
      lb.appendChild(field(t("llmKey"), key)); lb.appendChild(field(t("llmTimeout"), timeout));
      lb.appendChild(el("p", "muted", t("llmNote")));
      f.appendChild(lb);
      var save = el("button", "primary", t("save")); save.type = "submit"; f.appendChild(save);
      f.addEventListener("submit", function (e) {
        e.preventDefault();
        var greeting = {};
        LANGS.forEach(function (pair) { var l = pair[0]; if (greets[l].value.trim()) greeting[l] = greets[l].value.trim(); });
        var settings = {
          inboxes: boxes.filter(function (b) { return b[1].checked; }).map(function (b) { return b[0]; }),
          name: name.value, tone: tone.value, greeting: greeting, handoff_threshold: Number(threshold.value), phrases: phrases,
          llm: url.value.trim() ? { base_url: url.value.trim(), model: model.value.trim(), api_key: key.value || null, timeout_ms: Number(timeout.value) } : null
        };
        var days = BOT_DAYS.filter(function (d) { return dayRows[d][0].checked; })
          .map(function (d) { return { day: d, open: dayRows[d][1].value, close: dayRows[d][2].value }; });
        api("PUT", "/api/v1/business-hours", { utc_offset_minutes: Number(offset.value), days: days })
          .then(function () { return api("PUT", "/api/v1/bot", settings); }).then(saved).catch(fail);
      });
      body.appendChild(f);
      // Try a sentence.
      var tf = el("form", "inbox-form bot-try");
      var sentence = input("text", "", { maxlength: "1000", required: "" });
      tf.appendChild(field(t("trySentence"), sentence));
      var go = el("button", "ghost", t("tryBtn")); go.type = "submit"; tf.appendChild(go);
      var out = el("p", "try-result");
      tf.appendChild(out);
      tf.addEventListener("submit", function (e) {
        e.preventDefault();
        api("POST", "/api/v1/bot/try", { text: sentence.value }).then(function (res) {
          out.textContent = t("tryResult", { i: res.intent, c: Math.round(res.confidence * 100), l: res.language }) + " — " +
            res.top.map(function (x) { return x.intent + " " + Math.round(x.score * 100) + "%"; }).join(", ");
        }).catch(fail);
      });
      body.appendChild(tf);
    }).catch(fail);
  }

  function auditTab(body) {
    api("GET", "/api/v1/audit?limit=200").then(function (rows) {
      var table = el("table", "grid");
      rows.forEach(function (a) {
        var tr = el("tr");
        tr.appendChild(el("td", "muted", new Date(a.at).toLocaleString(lang)));
        tr.appendChild(el("td", null, a.actor || ""));
        tr.appendChild(el("td", null, a.action));
        tr.appendChild(el("td", null, [a.target, a.detail].filter(Boolean).join(" · ")));
        tr.appendChild(el("td", "muted", a.ip || ""));
        table.appendChild(tr);
      });
      body.appendChild(table);
    }).catch(fail);
  }

  // Keyboard: j/k move through the list, r reply, n note, e resolve, a assign to me, / search.
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey || e.target.closest("textarea, input, select, dialog")) return;
    var items = Array.from(listEl.querySelectorAll(".conv"));
    var idx = items.findIndex(function (li) { return current && Number(li.dataset.id) === current.id; });
    if (e.key === "j" && items.length) openConversation(Number(items[Math.min(items.length - 1, idx + 1)].dataset.id));
    else if (e.key === "k" && items.length) openConversation(Number(items[Math.max(0, idx - 1)].dataset.id));
    else if (e.key === "r" && current) { e.preventDefault(); current.setMode(false); current.els.box.focus(); }
    else if (e.key === "n" && current) { e.preventDefault(); current.setMode(true); current.els.box.focus(); }
    else if (e.key === "e" && current) current.els.statusBtn.click();
    else if (e.key === "a" && current && me) {
      api("POST", "/api/v1/conversations/" + current.id + "/assignee", { agent_id: me.id }).then(upsert).catch(function (er) { toast(er.message); });
    } else if (e.key === "/") { e.preventDefault(); searchEl.focus(); }
  });

  setInterval(renderList, 60000); // keep "waiting 5m" honest

  function refreshMe() {
    return Promise.all([api("GET", "/api/v1/me"), api("GET", "/api/v1/agents"), api("GET", "/api/v1/teams"), api("GET", "/api/v1/canned")]).then(function (r) {
      agents = r[1];
      me = agents.find(function (a) { return a.id === r[0].agent.id; }) || r[0].agent;
      me.team_ids = me.team_ids || [];
      teams = r[2];
      cannedList = r[3];
      renderAway();
      renderHead();
    });
  }

  translatePage();
  refreshMe().then(function () {
    // "All" is everything this agent may see: their inboxes (admins and supervisors: every inbox).
    return Promise.all([loadList(), loadNotifications(), loadLabels()]);
  }).then(connect).catch(function (e) { toast(e.message); });
})();
