//! What the bot says, in four languages. `{placeholders}` are filled by [`fill`]; values are
//! inserted once and never expanded again.

use layan_core::Locale;

use crate::settings::Tone;

/// Everything the bot can say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Text {
    Greeting,
    GreetingNamed,
    AnythingElse,
    AskRating,
    ThanksForRating,
    AskOrderNumber,
    AskOrderEmail,
    OrderNotFound,
    NoOrders,
    OrderStatus,
    OrderShipment,
    OrderExpected,
    OrderNeedsPerson,
    RefundIssued,
    RefundNotYet,
    InvoiceSummary,
    NotUnderstood,
    NoLetters,
    HandoffOpen,
    HandoffClosed,
    KnowledgeMore,
    ProductsFound,
    NoProducts,
    PolicyMissing,
    DeliveryOptionsIntro,
    FreeShippingOver,
    ProcessingDays,
    ReturnsWindow,
    NoReturns,
    RefundDays,
    ReturnShippingFree,
    ReturnShippingCustomer,
    ReturnShippingFaulty,
    GoodbyeNoRating,
    // Quick replies
    ButtonTrack,
    ButtonShipping,
    ButtonReturns,
    ButtonPerson,
    ButtonYes,
    ButtonNoThanks,
}

/// The words for `text` in `locale`.
pub fn text(text: Text, locale: Locale, tone: Tone) -> &'static str {
    use Locale::*;
    use Text::*;
    let formal = tone == Tone::Formal;
    match (text, locale) {
        (Greeting, En) if formal => {
            "Good day. I am {bot}, the automated assistant of {shop}. I can help with your order, shipping, returns and our products. You can ask for a person at any time."
        }
        (Greeting, En) => {
            "Hi! I'm {bot}, {shop}'s automated assistant 🤖 Ask me about your order, shipping, returns or our products — or tap “Talk to a person” any time."
        }
        (Greeting, Id) if formal => {
            "Selamat datang. Saya {bot}, asisten otomatis {shop}. Saya dapat membantu soal pesanan, pengiriman, retur, dan produk kami. Anda dapat meminta bantuan petugas kapan saja."
        }
        (Greeting, Id) => {
            "Halo kak! Aku {bot}, asisten otomatis {shop} 🤖 Tanya aku soal pesanan, pengiriman, retur, atau produk — atau ketuk “Bicara dengan orang” kapan saja."
        }
        (Greeting, Th) if formal => {
            "สวัสดีค่ะ ดิฉันคือ {bot} ผู้ช่วยอัตโนมัติของ {shop} ช่วยเรื่องคำสั่งซื้อ การจัดส่ง การคืนสินค้า และสินค้าของเราได้ค่ะ ขอคุยกับเจ้าหน้าที่ได้ตลอดเวลา"
        }
        (Greeting, Th) => {
            "สวัสดีค่ะ! {bot} ผู้ช่วยอัตโนมัติของ {shop} 🤖 ถามเรื่องคำสั่งซื้อ การจัดส่ง การคืนสินค้า หรือสินค้าได้เลย หรือแตะ “คุยกับเจ้าหน้าที่” ได้ทุกเมื่อค่ะ"
        }
        (Greeting, Nl) if formal => {
            "Goedendag. Ik ben {bot}, de automatische assistent van {shop}. Ik help u met uw bestelling, verzending, retouren en onze producten. U kunt altijd om een medewerker vragen."
        }
        (Greeting, Nl) => {
            "Hoi! Ik ben {bot}, de automatische assistent van {shop} 🤖 Vraag me naar je bestelling, verzending, retouren of producten — of tik op “Praat met een medewerker”."
        }
        (GreetingNamed, En) if formal => {
            "Good day, {name}. I am {bot}, the automated assistant of {shop}. I can help with your order, shipping, returns and our products. You can ask for a person at any time."
        }
        (GreetingNamed, En) => {
            "Hi {name}! I'm {bot}, {shop}'s automated assistant 🤖 Ask me about your order, shipping, returns or our products — or tap “Talk to a person” any time."
        }
        (GreetingNamed, Id) if formal => {
            "Selamat datang, {name}. Saya {bot}, asisten otomatis {shop}. Saya dapat membantu soal pesanan, pengiriman, retur, dan produk kami. Anda dapat meminta bantuan petugas kapan saja."
        }
        (GreetingNamed, Id) => {
            "Halo kak {name}! Aku {bot}, asisten otomatis {shop} 🤖 Tanya aku soal pesanan, pengiriman, retur, atau produk — atau ketuk “Bicara dengan orang” kapan saja."
        }
        (GreetingNamed, Th) if formal => {
            "สวัสดีค่ะ คุณ{name} ดิฉันคือ {bot} ผู้ช่วยอัตโนมัติของ {shop} ช่วยเรื่องคำสั่งซื้อ การจัดส่ง การคืนสินค้า และสินค้าของเราได้ค่ะ ขอคุยกับเจ้าหน้าที่ได้ตลอดเวลา"
        }
        (GreetingNamed, Th) => {
            "สวัสดีค่ะ คุณ{name}! {bot} ผู้ช่วยอัตโนมัติของ {shop} 🤖 ถามเรื่องคำสั่งซื้อ การจัดส่ง การคืนสินค้า หรือสินค้าได้เลย หรือแตะ “คุยกับเจ้าหน้าที่” ได้ทุกเมื่อค่ะ"
        }
        (GreetingNamed, Nl) if formal => {
            "Goedendag {name}. Ik ben {bot}, de automatische assistent van {shop}. Ik help u met uw bestelling, verzending, retouren en onze producten. U kunt altijd om een medewerker vragen."
        }
        (GreetingNamed, Nl) => {
            "Hoi {name}! Ik ben {bot}, de automatische assistent van {shop} 🤖 Vraag me naar je bestelling, verzending, retouren of producten — of tik op “Praat met een medewerker”."
        }
        (AnythingElse, En) => "Anything else I can help with?",
        (AnythingElse, Id) if formal => "Apakah ada hal lain yang dapat saya bantu?",
        (AnythingElse, Id) => "Ada lagi yang bisa aku bantu, kak?",
        (AnythingElse, Th) => "มีอะไรให้ช่วยอีกไหมคะ",
        (AnythingElse, Nl) if formal => "Kan ik u nog ergens anders mee helpen?",
        (AnythingElse, Nl) => "Kan ik je nog ergens anders mee helpen?",
        (AskRating, En) => {
            "Thanks for chatting! How would you rate my help, from 1 (poor) to 5 (great)?"
        }
        (AskRating, Id) => {
            "Terima kasih sudah mengobrol! Berapa nilai untuk bantuan saya, dari 1 (buruk) sampai 5 (sangat baik)?"
        }
        (AskRating, Th) => "ขอบคุณที่คุยกันนะคะ ให้คะแนนความช่วยเหลือครั้งนี้เท่าไหร่คะ ตั้งแต่ 1 (แย่) ถึง 5 (ดีมาก)",
        (AskRating, Nl) => {
            "Bedankt voor het gesprek! Welk cijfer geef je mijn hulp, van 1 (slecht) tot 5 (heel goed)?"
        }
        (ThanksForRating, En) => "Thank you for your rating! Write again any time.",
        (ThanksForRating, Id) => "Terima kasih atas penilaiannya! Silakan menulis lagi kapan saja.",
        (ThanksForRating, Th) => "ขอบคุณสำหรับคะแนนค่ะ ทักมาได้ทุกเมื่อนะคะ",
        (ThanksForRating, Nl) => "Bedankt voor je beoordeling! Schrijf gerust opnieuw.",
        (GoodbyeNoRating, En) => "You're welcome! Write again any time.",
        (GoodbyeNoRating, Id) => "Sama-sama! Silakan menulis lagi kapan saja.",
        (GoodbyeNoRating, Th) => "ยินดีค่ะ ทักมาได้ทุกเมื่อนะคะ",
        (GoodbyeNoRating, Nl) => "Graag gedaan! Schrijf gerust opnieuw.",
        (AskOrderNumber, En) => {
            "Which order is it about? Please send the order number (for example #1042)."
        }
        (AskOrderNumber, Id) => "Pesanan yang mana? Mohon kirim nomor pesanannya (misalnya #1042).",
        (AskOrderNumber, Th) => "เป็นคำสั่งซื้อไหนคะ รบกวนส่งหมายเลขคำสั่งซื้อ (เช่น #1042)",
        (AskOrderNumber, Nl) => {
            "Over welke bestelling gaat het? Stuur het bestelnummer (bijvoorbeeld #1042)."
        }
        (AskOrderEmail, En) => {
            "Thanks! And the email address you used for order {number}? I need it to make sure the order is yours."
        }
        (AskOrderEmail, Id) => {
            "Terima kasih! Lalu alamat email yang dipakai untuk pesanan {number}? Saya perlu memastikan pesanan itu milik Anda."
        }
        (AskOrderEmail, Th) => {
            "ขอบคุณค่ะ แล้วอีเมลที่ใช้สั่งคำสั่งซื้อ {number} คืออะไรคะ เพื่อยืนยันว่าเป็นคำสั่งซื้อของคุณ"
        }
        (AskOrderEmail, Nl) => {
            "Dank je! En het e-mailadres dat je voor bestelling {number} gebruikte? Zo weet ik zeker dat de bestelling van jou is."
        }
        (OrderNotFound, En) => {
            "I couldn't find an order with that number and email address. Please check both — or ask for a person."
        }
        (OrderNotFound, Id) => {
            "Saya tidak menemukan pesanan dengan nomor dan email tersebut. Mohon periksa keduanya — atau minta bicara dengan orang."
        }
        (OrderNotFound, Th) => {
            "ไม่พบคำสั่งซื้อที่ตรงกับหมายเลขและอีเมลนี้ค่ะ รบกวนตรวจสอบอีกครั้ง หรือขอคุยกับเจ้าหน้าที่ได้ค่ะ"
        }
        (OrderNotFound, Nl) => {
            "Ik vond geen bestelling met dat nummer en e-mailadres. Controleer ze allebei — of vraag om een medewerker."
        }
        (NoOrders, En) => {
            "I don't see any orders for you yet. If you ordered with another email address, send me the order number."
        }
        (NoOrders, Id) => {
            "Saya belum melihat pesanan atas nama Anda. Jika memesan dengan email lain, kirimkan nomor pesanannya."
        }
        (NoOrders, Th) => "ยังไม่พบคำสั่งซื้อของคุณค่ะ ถ้าสั่งด้วยอีเมลอื่น ส่งหมายเลขคำสั่งซื้อมาได้เลยค่ะ",
        (NoOrders, Nl) => {
            "Ik zie nog geen bestellingen van je. Heb je met een ander e-mailadres besteld? Stuur dan het bestelnummer."
        }
        (OrderStatus, En) => "Order {number} (placed {date}, {total}): {status}.",
        (OrderStatus, Id) => "Pesanan {number} (dipesan {date}, {total}): {status}.",
        (OrderStatus, Th) => "คำสั่งซื้อ {number} (สั่งเมื่อ {date}, {total}): {status}",
        (OrderStatus, Nl) => "Bestelling {number} (geplaatst {date}, {total}): {status}.",
        (OrderShipment, En) => "Shipped with {carrier}, tracking number {tracking}: {url}",
        (OrderShipment, Id) => "Dikirim dengan {carrier}, nomor resi {tracking}: {url}",
        (OrderShipment, Th) => "จัดส่งโดย {carrier} เลขพัสดุ {tracking}: {url}",
        (OrderShipment, Nl) => "Verzonden met {carrier}, trackingnummer {tracking}: {url}",
        (OrderExpected, En) => "Expected delivery: {date}.",
        (OrderExpected, Id) => "Perkiraan tiba: {date}.",
        (OrderExpected, Th) => "คาดว่าจะได้รับ: {date}",
        (OrderExpected, Nl) => "Verwachte levering: {date}.",
        (OrderNeedsPerson, En) => {
            "Changing or cancelling an order is done by a person from our team — I'm passing it on with your order details."
        }
        (OrderNeedsPerson, Id) => {
            "Perubahan atau pembatalan pesanan dilakukan oleh tim kami — saya teruskan beserta detail pesanan Anda."
        }
        (OrderNeedsPerson, Th) => {
            "การแก้ไขหรือยกเลิกคำสั่งซื้อต้องดำเนินการโดยเจ้าหน้าที่ค่ะ ส่งต่อพร้อมรายละเอียดคำสั่งซื้อให้แล้วนะคะ"
        }
        (OrderNeedsPerson, Nl) => {
            "Een bestelling wijzigen of annuleren doet iemand van ons team — ik geef het door met je bestelgegevens."
        }
        (RefundIssued, En) => {
            "The refund for order {number} has been issued. Depending on your bank it can take a few days to show."
        }
        (RefundIssued, Id) => {
            "Refund untuk pesanan {number} sudah diproses. Tergantung bank Anda, dana bisa butuh beberapa hari untuk masuk."
        }
        (RefundIssued, Th) => "คืนเงินสำหรับคำสั่งซื้อ {number} แล้วค่ะ อาจใช้เวลาสองสามวันขึ้นอยู่กับธนาคาร",
        (RefundIssued, Nl) => {
            "De terugbetaling voor bestelling {number} is gedaan. Afhankelijk van je bank kan het een paar dagen duren."
        }
        (RefundNotYet, En) => "No refund has been issued for order {number} yet.",
        (RefundNotYet, Id) => "Belum ada refund untuk pesanan {number}.",
        (RefundNotYet, Th) => "ยังไม่มีการคืนเงินสำหรับคำสั่งซื้อ {number} ค่ะ",
        (RefundNotYet, Nl) => "Er is nog geen terugbetaling gedaan voor bestelling {number}.",
        (InvoiceSummary, En) => {
            "Order {number}: {items} — total {total}. A person from our team will send you the invoice."
        }
        (InvoiceSummary, Id) => {
            "Pesanan {number}: {items} — total {total}. Tim kami akan mengirimkan fakturnya."
        }
        (InvoiceSummary, Th) => "คำสั่งซื้อ {number}: {items} — รวม {total} เจ้าหน้าที่จะส่งใบกำกับภาษีให้ค่ะ",
        (InvoiceSummary, Nl) => {
            "Bestelling {number}: {items} — totaal {total}. Iemand van ons team stuurt je de factuur."
        }
        (NotUnderstood, En) => {
            "Sorry, I didn't understand that. Could you say it in other words? I can help with orders, shipping, returns and products."
        }
        (NotUnderstood, Id) => {
            "Maaf, saya belum mengerti. Bisa dijelaskan dengan kata lain? Saya bisa bantu soal pesanan, pengiriman, retur, dan produk."
        }
        (NotUnderstood, Th) => {
            "ขอโทษค่ะ ยังไม่เข้าใจ ช่วยพิมพ์ใหม่อีกแบบได้ไหมคะ ช่วยเรื่องคำสั่งซื้อ การจัดส่ง การคืนสินค้า และสินค้าได้ค่ะ"
        }
        (NotUnderstood, Nl) => {
            "Sorry, dat begreep ik niet. Kun je het anders zeggen? Ik help met bestellingen, verzending, retouren en producten."
        }
        (NoLetters, En) => {
            "😊 What can I help you with? Your order, shipping, returns or our products?"
        }
        (NoLetters, Id) => "😊 Ada yang bisa saya bantu? Pesanan, pengiriman, retur, atau produk?",
        (NoLetters, Th) => "😊 ให้ช่วยเรื่องอะไรดีคะ คำสั่งซื้อ การจัดส่ง การคืนสินค้า หรือสินค้า",
        (NoLetters, Nl) => {
            "😊 Waarmee kan ik je helpen? Je bestelling, verzending, retouren of producten?"
        }
        (HandoffOpen, En) => {
            "I'm passing you to a person from our team, with everything you told me. They usually reply within {minutes} minutes."
        }
        (HandoffOpen, Id) => {
            "Saya teruskan ke tim kami beserta semua yang sudah Anda sampaikan. Biasanya dibalas dalam {minutes} menit."
        }
        (HandoffOpen, Th) => {
            "กำลังส่งต่อให้เจ้าหน้าที่พร้อมข้อมูลทั้งหมดที่แจ้งไว้ค่ะ โดยปกติจะตอบภายใน {minutes} นาที"
        }
        (HandoffOpen, Nl) => {
            "Ik geef je door aan iemand van ons team, met alles wat je me vertelde. Meestal antwoorden ze binnen {minutes} minuten."
        }
        (HandoffClosed, En) => {
            "Our team is away right now. Leave your message here and they will reply when we open again: {when}."
        }
        (HandoffClosed, Id) => {
            "Tim kami sedang tidak bertugas. Tinggalkan pesan di sini, kami akan membalas saat buka kembali: {when}."
        }
        (HandoffClosed, Th) => {
            "ขณะนี้อยู่นอกเวลาทำการค่ะ ฝากข้อความไว้ได้เลย ทีมงานจะตอบกลับเมื่อเปิดทำการ: {when}"
        }
        (HandoffClosed, Nl) => {
            "Ons team is er nu niet. Laat je bericht hier achter; we antwoorden zodra we weer open zijn: {when}."
        }
        (KnowledgeMore, En) => "More in “{title}”",
        (KnowledgeMore, Id) => "Selengkapnya di “{title}”",
        (KnowledgeMore, Th) => "อ่านเพิ่มเติมที่ “{title}”",
        (KnowledgeMore, Nl) => "Meer in “{title}”",
        (ProductsFound, En) => "Here is what I found:",
        (ProductsFound, Id) => "Ini yang saya temukan:",
        (ProductsFound, Th) => "สินค้าที่พบค่ะ:",
        (ProductsFound, Nl) => "Dit heb ik gevonden:",
        (NoProducts, En) => {
            "I couldn't find a product like that. Try other words, or ask a person from our team."
        }
        (NoProducts, Id) => {
            "Saya tidak menemukan produk seperti itu. Coba kata lain, atau tanya tim kami."
        }
        (NoProducts, Th) => "ไม่พบสินค้าแบบนั้นค่ะ ลองใช้คำอื่น หรือสอบถามเจ้าหน้าที่ได้ค่ะ",
        (NoProducts, Nl) => {
            "Ik vond zo'n product niet. Probeer andere woorden, of vraag het iemand van ons team."
        }
        (PolicyMissing, En) => {
            "I don't have that information; I'll pass your question to a person from our team."
        }
        (PolicyMissing, Id) => {
            "Saya tidak punya informasi itu; pertanyaan Anda saya teruskan ke tim kami."
        }
        (PolicyMissing, Th) => "ยังไม่มีข้อมูลเรื่องนี้ค่ะ จะส่งคำถามต่อให้เจ้าหน้าที่นะคะ",
        (PolicyMissing, Nl) => {
            "Die informatie heb ik niet; ik geef je vraag door aan iemand van ons team."
        }
        (DeliveryOptionsIntro, En) => "We ship with:",
        (DeliveryOptionsIntro, Id) => "Pilihan pengiriman kami:",
        (DeliveryOptionsIntro, Th) => "ตัวเลือกการจัดส่ง:",
        (DeliveryOptionsIntro, Nl) => "We verzenden met:",
        (FreeShippingOver, En) => "Free shipping on orders over {amount}.",
        (FreeShippingOver, Id) => "Gratis ongkir untuk pesanan di atas {amount}.",
        (FreeShippingOver, Th) => "ส่งฟรีเมื่อสั่งซื้อเกิน {amount}",
        (FreeShippingOver, Nl) => "Gratis verzending vanaf {amount}.",
        (ProcessingDays, En) => "We dispatch within {min}–{max} business days; then:",
        (ProcessingDays, Id) => "Pesanan dikirim dalam {min}–{max} hari kerja; lalu:",
        (ProcessingDays, Th) => "จัดส่งออกภายใน {min}–{max} วันทำการ จากนั้น:",
        (ProcessingDays, Nl) => "We versturen binnen {min}–{max} werkdagen; daarna:",
        (ReturnsWindow, En) => "You can return items within {days} days of delivery.",
        (ReturnsWindow, Id) => "Barang bisa dikembalikan dalam {days} hari setelah diterima.",
        (ReturnsWindow, Th) => "คืนสินค้าได้ภายใน {days} วันหลังได้รับสินค้า",
        (ReturnsWindow, Nl) => "Je kunt artikelen binnen {days} dagen na levering retourneren.",
        (NoReturns, En) => "We don't take returns, except for faulty or wrong items.",
        (NoReturns, Id) => "Kami tidak menerima retur, kecuali barang rusak atau salah kirim.",
        (NoReturns, Th) => "ไม่รับคืนสินค้า ยกเว้นสินค้าชำรุดหรือส่งผิด",
        (NoReturns, Nl) => "We nemen geen retouren aan, behalve kapotte of verkeerde artikelen.",
        (RefundDays, En) => {
            "The refund follows within {min}–{max} days after we receive the return."
        }
        (RefundDays, Id) => {
            "Dana dikembalikan dalam {min}–{max} hari setelah barang retur kami terima."
        }
        (RefundDays, Th) => "คืนเงินภายใน {min}–{max} วันหลังได้รับสินค้าคืน",
        (RefundDays, Nl) => {
            "Je krijgt je geld binnen {min}–{max} dagen nadat we de retour ontvingen."
        }
        (ReturnShippingFree, En) => "Return shipping is free.",
        (ReturnShippingFree, Id) => "Ongkos kirim retur gratis.",
        (ReturnShippingFree, Th) => "ส่งคืนฟรี",
        (ReturnShippingFree, Nl) => "Retourneren is gratis.",
        (ReturnShippingCustomer, En) => "Return shipping is paid by you.",
        (ReturnShippingCustomer, Id) => "Ongkos kirim retur ditanggung pembeli.",
        (ReturnShippingCustomer, Th) => "ผู้ซื้อเป็นผู้ชำระค่าส่งคืน",
        (ReturnShippingCustomer, Nl) => "De retourzending betaal je zelf.",
        (ReturnShippingFaulty, En) => "Return shipping is free for faulty or wrong items.",
        (ReturnShippingFaulty, Id) => {
            "Ongkos kirim retur gratis untuk barang rusak atau salah kirim."
        }
        (ReturnShippingFaulty, Th) => "ส่งคืนฟรีสำหรับสินค้าชำรุดหรือส่งผิด",
        (ReturnShippingFaulty, Nl) => "Retourneren is gratis voor kapotte of verkeerde artikelen.",
        (ButtonTrack, En) => "Where is my order?",
        (ButtonTrack, Id) => "Pesanan saya di mana?",
        (ButtonTrack, Th) => "ออเดอร์ของฉันอยู่ไหน",
        (ButtonTrack, Nl) => "Waar is mijn bestelling?",
        (ButtonShipping, En) => "Shipping options",
        (ButtonShipping, Id) => "Pilihan pengiriman",
        (ButtonShipping, Th) => "ตัวเลือกการจัดส่ง",
        (ButtonShipping, Nl) => "Verzendopties",
        (ButtonReturns, En) => "Returns policy",
        (ButtonReturns, Id) => "Kebijakan retur",
        (ButtonReturns, Th) => "นโยบายคืนสินค้า",
        (ButtonReturns, Nl) => "Retourbeleid",
        (ButtonPerson, En) => "Talk to a person",
        (ButtonPerson, Id) => "Bicara dengan orang",
        (ButtonPerson, Th) => "คุยกับเจ้าหน้าที่",
        (ButtonPerson, Nl) => "Praat met een medewerker",
        (ButtonYes, En) => "Yes",
        (ButtonYes, Id) => "Ya",
        (ButtonYes, Th) => "มีค่ะ",
        (ButtonYes, Nl) => "Ja",
        (ButtonNoThanks, En) => "No, that's all",
        (ButtonNoThanks, Id) => "Tidak, sudah cukup",
        (ButtonNoThanks, Th) => "ไม่มีแล้ว ขอบคุณ",
        (ButtonNoThanks, Nl) => "Nee, dat was het",
    }
}

/// Fills `{key}` placeholders once, left to right; a value's own braces stay as written.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) => {
                let key = &after[..end];
                match values.iter().find(|(k, _)| *k == key) {
                    Some((_, v)) => out.push_str(v),
                    None => {
                        out.push('{');
                        out.push_str(key);
                        out.push('}');
                    }
                }
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// A one-word order status in `locale` (from `Order::status`).
pub fn order_status(status: &str, locale: Locale) -> String {
    let words: [&str; 4] = match status {
        "cancelled" => ["cancelled", "dibatalkan", "ยกเลิกแล้ว", "geannuleerd"],
        "delivered" => ["delivered", "sudah diterima", "จัดส่งถึงแล้ว", "bezorgd"],
        "shipped" => ["shipped", "sedang dikirim", "จัดส่งแล้ว", "verzonden"],
        "partially shipped" => [
            "partly shipped",
            "sebagian dikirim",
            "จัดส่งบางส่วนแล้ว",
            "deels verzonden",
        ],
        "paid" => [
            "paid, being prepared for shipping",
            "sudah dibayar, sedang disiapkan",
            "ชำระแล้ว กำลังเตรียมจัดส่ง",
            "betaald, wordt klaargemaakt voor verzending",
        ],
        "pending" => [
            "waiting for payment",
            "menunggu pembayaran",
            "รอการชำระเงิน",
            "wacht op betaling",
        ],
        "refunded" => ["refunded", "dana dikembalikan", "คืนเงินแล้ว", "terugbetaald"],
        "partially_refunded" => [
            "partly refunded",
            "sebagian dana dikembalikan",
            "คืนเงินบางส่วนแล้ว",
            "deels terugbetaald",
        ],
        other => return other.replace('_', " "),
    };
    let i = match locale {
        Locale::En => 0,
        Locale::Id => 1,
        Locale::Th => 2,
        Locale::Nl => 3,
    };
    words[i].to_string()
}

/// Weekday names, Monday first.
pub fn weekday(day: usize, locale: Locale) -> &'static str {
    const EN: [&str; 7] = [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ];
    const ID: [&str; 7] = [
        "Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu",
    ];
    const TH: [&str; 7] = [
        "วันจันทร์",
        "วันอังคาร",
        "วันพุธ",
        "วันพฤหัสบดี",
        "วันศุกร์",
        "วันเสาร์",
        "วันอาทิตย์",
    ];
    const NL: [&str; 7] = [
        "maandag",
        "dinsdag",
        "woensdag",
        "donderdag",
        "vrijdag",
        "zaterdag",
        "zondag",
    ];
    let names = match locale {
        Locale::En => EN,
        Locale::Id => ID,
        Locale::Th => TH,
        Locale::Nl => NL,
    };
    names[day % 7]
}

/// Is `text` one of the "Talk to a person" buttons (any language)?
pub fn is_person_button(text: &str) -> bool {
    let t = text.trim();
    Locale::ALL
        .iter()
        .any(|l| t.eq_ignore_ascii_case(self::text(Text::ButtonPerson, *l, Tone::Friendly)))
}

/// Is `text` one of the "No, that's all" buttons?
pub fn is_no_more_button(text: &str) -> bool {
    let t = text.trim();
    Locale::ALL
        .iter()
        .any(|l| t.eq_ignore_ascii_case(self::text(Text::ButtonNoThanks, *l, Tone::Friendly)))
}

/// Is `text` one of the "Yes" buttons?
pub fn is_yes_button(text: &str) -> bool {
    let t = text.trim();
    Locale::ALL
        .iter()
        .any(|l| t.eq_ignore_ascii_case(self::text(Text::ButtonYes, *l, Tone::Friendly)))
}

/// Search words for an intent's help-center articles, added to the shopper's own words (a
/// question about "payment methods" should find the article "Ways to pay").
pub fn topic(intent: crate::Intent, locale: Locale) -> &'static str {
    use crate::Intent::*;
    let words: [&str; 4] = match intent {
        SetUpShippingAddress => [
            "address account add",
            "alamat akun tambah",
            "ที่อยู่ บัญชี",
            "adres account toevoegen",
        ],
        PaymentIssue => [
            "payment failed pay",
            "pembayaran gagal bayar",
            "ชำระเงิน ไม่สำเร็จ",
            "betaling mislukt betalen",
        ],
        CheckPaymentMethods => [
            "pay payment methods",
            "bayar pembayaran metode",
            "ชำระเงิน จ่าย",
            "betalen betaalmethoden",
        ],
        PlaceOrder => [
            "order buy checkout",
            "pesan beli checkout",
            "สั่งซื้อ",
            "bestellen kopen",
        ],
        CreateAccount => [
            "account create register",
            "akun daftar",
            "บัญชี สมัคร",
            "account aanmaken registreren",
        ],
        DeleteAccount => [
            "account delete close",
            "akun hapus",
            "บัญชี ลบ",
            "account verwijderen",
        ],
        EditAccount => [
            "account change details",
            "akun ubah data",
            "บัญชี แก้ไข",
            "account wijzigen gegevens",
        ],
        SwitchAccount => [
            "account switch log in",
            "akun ganti masuk",
            "บัญชี เปลี่ยน",
            "account wisselen inloggen",
        ],
        RecoverPassword => [
            "password reset forgot",
            "kata sandi lupa reset",
            "รหัสผ่าน ลืม",
            "wachtwoord vergeten herstellen",
        ],
        RegistrationProblems => [
            "register account problem",
            "daftar akun masalah",
            "สมัคร ปัญหา",
            "registreren probleem",
        ],
        NewsletterSubscription => [
            "newsletter subscribe email",
            "newsletter langganan email",
            "จดหมายข่าว",
            "nieuwsbrief aanmelden",
        ],
        Review => [
            "review rating",
            "ulasan review",
            "รีวิว",
            "review beoordeling",
        ],
        CheckCancellationFee => [
            "cancel fee cost",
            "batal biaya",
            "ยกเลิก ค่าธรรมเนียม",
            "annuleren kosten",
        ],
        DeliveryOptions | DeliveryPeriod => [
            "shipping delivery",
            "pengiriman kirim",
            "จัดส่ง",
            "verzending levering",
        ],
        GetRefund | CheckRefundPolicy | TrackRefund => [
            "return refund",
            "retur refund pengembalian",
            "คืนสินค้า คืนเงิน",
            "retour terugbetaling",
        ],
        _ => return "",
    };
    words[match locale {
        Locale::En => 0,
        Locale::Id => 1,
        Locale::Th => 2,
        Locale::Nl => 3,
    }]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_once_and_keep_unknown() {
        assert_eq!(
            fill("Hi {name}, {x} {", &[("name", "{x}")]),
            "Hi {x}, {x} {"
        );
        assert!(
            fill(
                text(Text::AskOrderEmail, Locale::Nl, Tone::Friendly),
                &[("number", "#1")]
            )
            .contains("bestelling #1")
        );
        assert!(is_person_button(" talk to a person "));
        assert!(is_person_button("คุยกับเจ้าหน้าที่"));
        assert!(!is_person_button("talk"));
        assert_eq!(order_status("shipped", Locale::Id), "sedang dikirim");
        assert_eq!(weekday(4, Locale::Nl), "vrijdag");
    }
}
