//! The shipping and returns policy: the agent-side API to read and replace it, the public page
//! in the help center (`/help/{locale}/shipping-returns`) and the widget's JSON of it (also what
//! the answer bot will quote). The shop's texts are escaped; amounts are formatted for the
//! shopper's language.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use layan_core::{
    DayRange, Duties, Locale, ReturnShipping, ShippingPolicy, Texts,
    policy::{format_amount, is_zero, text_in},
};

use crate::{
    AppState,
    auth::Work,
    error::{ApiError, ApiResult, ErrorBody, JsonBody},
    help::{all_locales, branding, exact_locale, html, layout, not_found_page, unknown_locale},
    ui::escape,
};

fn no_policy() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "this shop has not written its shipping and returns policy yet",
    )
}

/// The shipping and returns policy.
#[utoipa::path(get, path = "/api/v1/policies/shipping", tag = "knowledge base",
    responses((status = 200, body = ShippingPolicy), (status = 404, body = ErrorBody)))]
pub async fn get_policy(
    State(state): State<AppState>,
    _work: Work,
) -> ApiResult<Json<ShippingPolicy>> {
    Ok(Json(
        state
            .engine
            .shipping_policy()
            .await?
            .ok_or_else(no_policy)?,
    ))
}

/// Replaces the shipping and returns policy (admins and supervisors). Every field is checked;
/// a problem answers 422 naming the field.
#[utoipa::path(put, path = "/api/v1/policies/shipping", tag = "knowledge base", request_body = ShippingPolicy,
    responses((status = 200, body = ShippingPolicy), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_policy(
    State(state): State<AppState>,
    work: Work,
    JsonBody(policy): JsonBody<ShippingPolicy>,
) -> ApiResult<Json<ShippingPolicy>> {
    state
        .engine
        .set_shipping_policy(work.agent(), &policy, work.ip)
        .await?;
    Ok(Json(policy))
}

/// The policy for the widget and the answer bot (public, like the help center).
#[utoipa::path(get, path = "/api/v1/widget/help/policy", tag = "widget",
    responses((status = 200, body = ShippingPolicy), (status = 404, body = ErrorBody)))]
pub async fn widget_policy(State(state): State<AppState>) -> ApiResult<Json<ShippingPolicy>> {
    Ok(Json(
        state
            .engine
            .shipping_policy()
            .await?
            .ok_or_else(no_policy)?,
    ))
}

/// The page's words, per locale.
struct PolicyWords {
    title: &'static str,
    processing: &'static str,
    /// `{range}`: "1–2".
    dispatch_within: &'static str,
    /// `{time}`: "14:00".
    cutoff: &'static str,
    weekend_yes: &'static str,
    weekend_no: &'static str,
    delivery: &'static str,
    option: &'static str,
    time: &'static str,
    cost: &'static str,
    /// `{range}`.
    business_days: &'static str,
    same_day: &'static str,
    free: &'static str,
    /// `{amount}`.
    free_over: &'static str,
    taxes: &'static str,
    taxes_included: &'static str,
    taxes_excluded: &'static str,
    duties_none: &'static str,
    duties_included: &'static str,
    duties_customer: &'static str,
    addresses: &'static str,
    po_yes: &'static str,
    po_no: &'static str,
    military_yes: &'static str,
    military_no: &'static str,
    remote: &'static str,
    returns: &'static str,
    /// `{n}`.
    window: &'static str,
    no_returns: &'static str,
    condition: &'static str,
    steps: &'static str,
    return_free: &'static str,
    return_customer: &'static str,
    return_free_if_faulty: &'static str,
    /// `{range}`.
    refund: &'static str,
    exceptions: &'static str,
    missing: &'static str,
}

fn policy_words(locale: Locale) -> &'static PolicyWords {
    match locale {
        Locale::En => &PolicyWords {
            title: "Shipping and returns",
            processing: "Processing time",
            dispatch_within: "Orders are dispatched within {range} business days.",
            cutoff: "Orders placed before {time} are dispatched the same business day.",
            weekend_yes: "We also dispatch on Saturdays and Sundays.",
            weekend_no: "We do not dispatch on Saturdays and Sundays; weekend orders leave on Monday.",
            delivery: "Delivery options",
            option: "Option",
            time: "Delivery time",
            cost: "Cost",
            business_days: "{range} business days",
            same_day: "Same day",
            free: "Free",
            free_over: "Free shipping on orders from {amount}.",
            taxes: "Taxes, duties and fees",
            taxes_included: "Prices include taxes.",
            taxes_excluded: "Taxes are added at checkout.",
            duties_none: "We ship within the country only, so there are no import duties.",
            duties_included: "Import duties are included in the price: nothing to pay on delivery.",
            duties_customer: "Import duties and taxes on international orders are paid by you on delivery.",
            addresses: "Special addresses",
            po_yes: "We deliver to PO boxes.",
            po_no: "We cannot deliver to PO boxes.",
            military_yes: "We deliver to military addresses.",
            military_no: "We cannot deliver to military addresses.",
            remote: "Remote areas",
            returns: "Returns",
            window: "You can return items within {n} days of delivery.",
            no_returns: "We do not accept returns, except for faulty or wrong items.",
            condition: "Condition",
            steps: "How to return",
            return_free: "Return shipping is free.",
            return_customer: "You pay the return shipping.",
            return_free_if_faulty: "Return shipping is free for faulty or wrong items; otherwise you pay it.",
            refund: "Refunds are made within {range} business days of receiving your return.",
            exceptions: "Not returnable",
            missing: "This shop has not published its shipping and returns policy yet.",
        },
        Locale::Id => &PolicyWords {
            title: "Pengiriman dan pengembalian",
            processing: "Waktu pemrosesan",
            dispatch_within: "Pesanan dikirim dalam {range} hari kerja.",
            cutoff: "Pesanan yang dibuat sebelum pukul {time} dikirim pada hari kerja yang sama.",
            weekend_yes: "Kami juga mengirim pada hari Sabtu dan Minggu.",
            weekend_no: "Kami tidak mengirim pada hari Sabtu dan Minggu; pesanan akhir pekan dikirim hari Senin.",
            delivery: "Pilihan pengiriman",
            option: "Pilihan",
            time: "Waktu pengiriman",
            cost: "Biaya",
            business_days: "{range} hari kerja",
            same_day: "Hari yang sama",
            free: "Gratis",
            free_over: "Gratis ongkir untuk pesanan mulai {amount}.",
            taxes: "Pajak, bea, dan biaya",
            taxes_included: "Harga sudah termasuk pajak.",
            taxes_excluded: "Pajak ditambahkan saat checkout.",
            duties_none: "Kami hanya mengirim di dalam negeri, jadi tidak ada bea masuk.",
            duties_included: "Bea masuk sudah termasuk dalam harga: tidak ada yang perlu dibayar saat barang tiba.",
            duties_customer: "Bea masuk dan pajak untuk pesanan internasional Anda bayar saat barang tiba.",
            addresses: "Alamat khusus",
            po_yes: "Kami mengirim ke PO box.",
            po_no: "Kami tidak dapat mengirim ke PO box.",
            military_yes: "Kami mengirim ke alamat militer.",
            military_no: "Kami tidak dapat mengirim ke alamat militer.",
            remote: "Daerah terpencil",
            returns: "Pengembalian",
            window: "Anda dapat mengembalikan barang dalam {n} hari setelah diterima.",
            no_returns: "Kami tidak menerima pengembalian, kecuali barang rusak atau salah kirim.",
            condition: "Kondisi barang",
            steps: "Cara mengembalikan",
            return_free: "Ongkos kirim pengembalian gratis.",
            return_customer: "Ongkos kirim pengembalian Anda tanggung.",
            return_free_if_faulty: "Ongkos kirim pengembalian gratis untuk barang rusak atau salah kirim; selain itu Anda tanggung.",
            refund: "Dana dikembalikan dalam {range} hari kerja setelah kami menerima barang Anda.",
            exceptions: "Tidak dapat dikembalikan",
            missing: "Toko ini belum menerbitkan kebijakan pengiriman dan pengembalian.",
        },
        Locale::Th => &PolicyWords {
            title: "การจัดส่งและการคืนสินค้า",
            processing: "ระยะเวลาเตรียมสินค้า",
            dispatch_within: "เราจัดส่งคำสั่งซื้อภายใน {range} วันทำการ",
            cutoff: "คำสั่งซื้อก่อนเวลา {time} น. จะจัดส่งภายในวันทำการเดียวกัน",
            weekend_yes: "เราจัดส่งในวันเสาร์และวันอาทิตย์ด้วย",
            weekend_no: "เราไม่จัดส่งในวันเสาร์และวันอาทิตย์ คำสั่งซื้อช่วงสุดสัปดาห์จะจัดส่งในวันจันทร์",
            delivery: "ตัวเลือกการจัดส่ง",
            option: "ตัวเลือก",
            time: "ระยะเวลาจัดส่ง",
            cost: "ค่าจัดส่ง",
            business_days: "{range} วันทำการ",
            same_day: "ภายในวันเดียวกัน",
            free: "ฟรี",
            free_over: "ส่งฟรีเมื่อสั่งซื้อตั้งแต่ {amount}",
            taxes: "ภาษี อากร และค่าธรรมเนียม",
            taxes_included: "ราคารวมภาษีแล้ว",
            taxes_excluded: "ภาษีจะคิดเพิ่มตอนชำระเงิน",
            duties_none: "เราจัดส่งภายในประเทศเท่านั้น จึงไม่มีอากรขาเข้า",
            duties_included: "ราคารวมอากรขาเข้าแล้ว ไม่ต้องชำระเพิ่มเมื่อได้รับสินค้า",
            duties_customer: "อากรขาเข้าและภาษีของคำสั่งซื้อต่างประเทศ ผู้ซื้อชำระเมื่อได้รับสินค้า",
            addresses: "ที่อยู่พิเศษ",
            po_yes: "เราจัดส่งถึงตู้ ปณ. ได้",
            po_no: "เราไม่สามารถจัดส่งถึงตู้ ปณ. ได้",
            military_yes: "เราจัดส่งถึงที่อยู่ทางทหารได้",
            military_no: "เราไม่สามารถจัดส่งถึงที่อยู่ทางทหารได้",
            remote: "พื้นที่ห่างไกล",
            returns: "การคืนสินค้า",
            window: "คุณสามารถคืนสินค้าได้ภายใน {n} วันหลังได้รับสินค้า",
            no_returns: "เราไม่รับคืนสินค้า ยกเว้นสินค้าชำรุดหรือส่งผิด",
            condition: "สภาพสินค้า",
            steps: "วิธีคืนสินค้า",
            return_free: "ส่งคืนสินค้าฟรี",
            return_customer: "ผู้ซื้อเป็นผู้ชำระค่าส่งคืนสินค้า",
            return_free_if_faulty: "ส่งคืนฟรีสำหรับสินค้าชำรุดหรือส่งผิด นอกนั้นผู้ซื้อเป็นผู้ชำระค่าส่ง",
            refund: "เราจะคืนเงินภายใน {range} วันทำการหลังได้รับสินค้าที่ส่งคืน",
            exceptions: "สินค้าที่ไม่รับคืน",
            missing: "ร้านนี้ยังไม่ได้เผยแพร่นโยบายการจัดส่งและการคืนสินค้า",
        },
        Locale::Nl => &PolicyWords {
            title: "Verzenden en retourneren",
            processing: "Verwerkingstijd",
            dispatch_within: "Bestellingen worden binnen {range} werkdagen verzonden.",
            cutoff: "Bestellingen die vóór {time} binnenkomen, worden dezelfde werkdag verzonden.",
            weekend_yes: "We verzenden ook op zaterdag en zondag.",
            weekend_no: "We verzenden niet op zaterdag en zondag; weekendbestellingen gaan maandag de deur uit.",
            delivery: "Bezorgopties",
            option: "Optie",
            time: "Levertijd",
            cost: "Kosten",
            business_days: "{range} werkdagen",
            same_day: "Dezelfde dag",
            free: "Gratis",
            free_over: "Gratis verzending vanaf {amount}.",
            taxes: "Btw, invoerrechten en kosten",
            taxes_included: "Prijzen zijn inclusief btw.",
            taxes_excluded: "Btw wordt bij het afrekenen toegevoegd.",
            duties_none: "We verzenden alleen binnen het land, dus er zijn geen invoerrechten.",
            duties_included: "Invoerrechten zitten in de prijs: bij bezorging betaal je niets extra.",
            duties_customer: "Invoerrechten en belastingen op internationale bestellingen betaal je zelf bij bezorging.",
            addresses: "Bijzondere adressen",
            po_yes: "We bezorgen op postbussen.",
            po_no: "We kunnen niet op postbussen bezorgen.",
            military_yes: "We bezorgen op militaire adressen.",
            military_no: "We kunnen niet op militaire adressen bezorgen.",
            remote: "Afgelegen gebieden",
            returns: "Retourneren",
            window: "Je kunt artikelen binnen {n} dagen na ontvangst retourneren.",
            no_returns: "We nemen geen retouren aan, behalve bij defecte of verkeerd geleverde artikelen.",
            condition: "Staat van de artikelen",
            steps: "Zo retourneer je",
            return_free: "Retourzenden is gratis.",
            return_customer: "Je betaalt zelf de retourkosten.",
            return_free_if_faulty: "Retourzenden is gratis bij defecte of verkeerde artikelen; anders betaal je zelf de retourkosten.",
            refund: "Je krijgt je geld binnen {range} werkdagen nadat we je retour hebben ontvangen.",
            exceptions: "Niet retourneerbaar",
            missing: "Deze winkel heeft nog geen verzend- en retourbeleid gepubliceerd.",
        },
    }
}

fn range(days: &DayRange) -> String {
    if days.min == days.max {
        days.min.to_string()
    } else {
        format!("{}–{}", days.min, days.max)
    }
}

fn p(text: &str) -> String {
    format!("<p>{}</p>", escape(text))
}

/// The policy as the page's main content in `locale`.
fn render(policy: &ShippingPolicy, locale: Locale) -> String {
    let w = policy_words(locale);
    let t = |texts: &Texts| escape(text_in(texts, locale));
    let money = |amount: &str| {
        if is_zero(amount) {
            w.free.to_owned()
        } else {
            format_amount(amount, &policy.currency, locale)
        }
    };
    let mut out = format!("<h1>{}</h1>", escape(w.title));

    out.push_str(&format!("<section><h2>{}</h2>", escape(w.processing)));
    out.push_str(&p(&w
        .dispatch_within
        .replace("{range}", &range(&policy.processing_days))));
    if let Some(cutoff) = &policy.order_cutoff {
        out.push_str(&p(&w.cutoff.replace("{time}", cutoff)));
    }
    out.push_str(&p(if policy.weekend_dispatch {
        w.weekend_yes
    } else {
        w.weekend_no
    }));
    out.push_str("</section>");

    out.push_str(&format!(
        "<section><h2>{}</h2><table><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th>\
         <th scope=\"col\">{}</th></tr></thead><tbody>",
        escape(w.delivery),
        escape(w.option),
        escape(w.time),
        escape(w.cost)
    ));
    for o in &policy.delivery_options {
        let mut name = t(&o.name);
        if let Some(carrier) = &o.carrier {
            name.push_str(&format!(
                " <span class=\"muted\">({})</span>",
                escape(carrier)
            ));
        }
        if let Some(regions) = &o.regions {
            name.push_str(&format!("<br><span class=\"muted\">{}</span>", t(regions)));
        }
        out.push_str(&format!(
            "<tr><td>{name}</td><td>{}</td><td>{}</td></tr>",
            escape(&if o.days.max == 0 {
                w.same_day.to_owned()
            } else {
                w.business_days.replace("{range}", &range(&o.days))
            }),
            escape(&money(&o.cost))
        ));
    }
    out.push_str("</tbody></table>");
    if let Some(over) = &policy.free_shipping_over {
        out.push_str(&p(&w
            .free_over
            .replace("{amount}", &format_amount(over, &policy.currency, locale))));
    }
    out.push_str("</section>");

    out.push_str(&format!("<section><h2>{}</h2>", escape(w.taxes)));
    out.push_str(&p(if policy.taxes_included {
        w.taxes_included
    } else {
        w.taxes_excluded
    }));
    out.push_str(&p(match policy.duties {
        Duties::NotApplicable => w.duties_none,
        Duties::Included => w.duties_included,
        Duties::PaidByCustomer => w.duties_customer,
    }));
    if !policy.extra_fees.is_empty() {
        out.push_str("<ul>");
        for f in &policy.extra_fees {
            out.push_str(&format!(
                "<li>{}: {}</li>",
                t(&f.name),
                escape(&format_amount(&f.amount, &policy.currency, locale))
            ));
        }
        out.push_str("</ul>");
    }
    out.push_str("</section>");

    out.push_str(&format!("<section><h2>{}</h2>", escape(w.addresses)));
    out.push_str(&p(if policy.po_boxes { w.po_yes } else { w.po_no }));
    out.push_str(&p(if policy.military_addresses {
        w.military_yes
    } else {
        w.military_no
    }));
    if let Some(remote) = &policy.remote_areas {
        out.push_str(&format!(
            "<h3>{}</h3><p>{}</p>",
            escape(w.remote),
            t(remote)
        ));
    }
    out.push_str("</section>");

    let r = &policy.returns;
    out.push_str(&format!("<section><h2>{}</h2>", escape(w.returns)));
    out.push_str(&p(&if r.window_days == 0 {
        w.no_returns.to_owned()
    } else {
        w.window.replace("{n}", &r.window_days.to_string())
    }));
    if let Some(c) = &r.condition {
        out.push_str(&format!("<h3>{}</h3><p>{}</p>", escape(w.condition), t(c)));
    }
    if !r.steps.is_empty() {
        out.push_str(&format!("<h3>{}</h3><ol>", escape(w.steps)));
        for s in &r.steps {
            out.push_str(&format!("<li>{}</li>", t(s)));
        }
        out.push_str("</ol>");
    }
    out.push_str(&p(match r.return_shipping {
        ReturnShipping::Free => w.return_free,
        ReturnShipping::CustomerPays => w.return_customer,
        ReturnShipping::FreeIfFaulty => w.return_free_if_faulty,
    }));
    out.push_str(&p(&w.refund.replace("{range}", &range(&r.refund_days))));
    if let Some(e) = &r.exceptions {
        out.push_str(&format!("<h3>{}</h3><p>{}</p>", escape(w.exceptions), t(e)));
    }
    out.push_str("</section>");
    out
}

/// The link to the policy page for the help center's home, when there is a policy.
pub(crate) fn home_link(locale: Locale) -> String {
    format!(
        "<p class=\"policy-link\"><a href=\"/help/{}/shipping-returns\">{}</a></p>",
        locale.as_str(),
        escape(policy_words(locale).title)
    )
}

/// `GET /help/{locale}/shipping-returns`.
pub async fn policy_page(State(state): State<AppState>, Path(tag): Path<String>) -> Response {
    let Some(locale) = exact_locale(&tag) else {
        return unknown_locale(&state, &tag).await;
    };
    let policy = match state.engine.shipping_policy().await {
        Ok(Some(p)) => p,
        Ok(None) => {
            return not_found_page(&state, locale, policy_words(locale).missing, "").await;
        }
        Err(e) => return ApiError::from(e).into_response(),
    };
    let brand = branding(&state).await;
    html(
        StatusCode::OK,
        layout(
            &brand,
            locale,
            policy_words(locale).title,
            &all_locales(|l| format!("/help/{}/shipping-returns", l.as_str())),
            "",
            &render(&policy, locale),
        ),
    )
}
