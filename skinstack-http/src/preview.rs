//! Link-preview cards: the small HTML page with Open Graph and Twitter-card tags that chat and
//! social apps render when a short link is pasted.
//!
//! The card names no URL but the short link's own: no `og:url` or `rel="canonical"`, which
//! Facebook and LinkedIn would make the card's target (sending shoppers past the tracked
//! redirect), and a body link back to the short link with
//! [`CARD_MARKER`](crate::redirect::CARD_MARKER), for a person who lands on the card.

use skinstack_core::tracking::redirect::PreviewCard;
use std::fmt::Write;

/// Escapes text for HTML element content and double- or single-quoted attribute values.
/// Every text in a card is merchant input, so everything goes through here.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// The card page for `card`, served at the short link it describes.
pub fn render(card: &PreviewCard) -> String {
    let title = escape(&card.title);
    let site = escape(&card.site_name);
    // A query-only reference: the same short link, wherever the router is mounted.
    let open = format!("?{}", crate::redirect::CARD_MARKER);
    let description = card.description.as_deref().map(escape);
    let image = card.image.as_deref().map(escape);
    let mut meta = String::new();
    let mut tag = |attr: &str, name: &str, content: &str| {
        let _ = writeln!(meta, "<meta {attr}=\"{name}\" content=\"{content}\">");
    };
    tag(
        "property",
        "og:type",
        if card.price.is_some() {
            "product"
        } else {
            "website"
        },
    );
    tag("property", "og:title", &title);
    tag("property", "og:site_name", &site);
    tag("name", "twitter:title", &title);
    if let Some(description) = &description {
        tag("property", "og:description", description);
        tag("name", "twitter:description", description);
    }
    if let Some(image) = &image {
        tag("property", "og:image", image);
        tag("name", "twitter:image", image);
    }
    tag(
        "name",
        "twitter:card",
        if image.is_some() {
            "summary_large_image"
        } else {
            "summary"
        },
    );
    if let Some((price, currency)) = card.price {
        tag("property", "product:price:amount", &price.to_string());
        tag("property", "product:price:currency", currency.as_str());
    }
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>{title}</title>\n\
         {meta}</head>\n\
         <body><h1>{title}</h1>{}<p><a href=\"{open}\" rel=\"nofollow\">{site}</a></p></body></html>\n",
        description.map(|d| format!("<p>{d}</p>")).unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use skinstack_core::{Price, WebUrl};

    #[test]
    fn escapes_every_character_that_could_leave_text_or_an_attribute() {
        assert_eq!(
            escape(r#"<a href="x" onclick='y'>&</a>"#),
            "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
        );
    }

    #[test]
    fn a_hostile_product_name_stays_text() {
        let destination = WebUrl::parse("https://glowco.com/p?a=1&b=2").unwrap();
        let card = PreviewCard::new(
            "Glow \"Co\"",
            &destination,
            Some((
                "<script>alert(1)</script>",
                Some("\"><img src=x onerror=alert(1)>"),
                None,
                Price::ZERO,
                skinstack_core::Currency::parse("EUR").unwrap(),
            )),
        );
        let html = render(&card);
        assert!(
            !html.contains("<script>") && !html.contains("<img"),
            "{html}"
        );
        assert!(html.contains(
            "<meta property=\"og:title\" content=\"&lt;script&gt;alert(1)&lt;/script&gt;\">"
        ));
        assert!(html.contains("<a href=\"?via=card\" rel=\"nofollow\">Glow &quot;Co&quot;</a>"));
        assert!(
            !html.contains("glowco.com/p"),
            "no URL but the short link's: {html}"
        );
        assert!(html.contains("twitter:card\" content=\"summary\""));
        assert!(
            html.contains("<meta property=\"product:price:currency\" content=\"EUR\">"),
            "the merchant's currency: {html}"
        );
    }
}
