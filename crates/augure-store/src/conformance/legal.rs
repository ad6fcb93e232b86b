//! Legal: site pages and terms acceptances.

use std::sync::Arc;

use augure_domain::legal::PageKind;

use super::{new_site, t0, user};
use crate::*;

fn page(site: augure_domain::SiteId, kind: PageKind, locale: &str, body: &str) -> SitePage {
    SitePage {
        site_id: site,
        kind,
        locale: locale.into(),
        title: format!("{kind} {locale}"),
        body: body.into(),
        updated_at: t0(),
    }
}

pub async fn site_pages_are_kept_per_site_kind_and_language(store: Arc<dyn Store>) {
    let fr = store.create_site(&new_site("FR")).await.unwrap();
    let ch = store.create_site(&new_site("CH")).await.unwrap();
    let missing = store.site_page(fr.id, PageKind::Terms, "fr").await.unwrap_err();
    assert!(matches!(missing, StoreError::NotFound), "{missing:?}");
    store.save_site_page(&page(fr.id, PageKind::Terms, "fr", "Article 1")).await.unwrap();
    store.save_site_page(&page(ch.id, PageKind::Terms, "it", "Articolo 1")).await.unwrap();
    store.save_site_page(&page(fr.id, PageKind::Legal, "fr", "Éditeur")).await.unwrap();
    let mut edited = page(fr.id, PageKind::Terms, "fr", "Article 1\n\nArticle 2");
    edited.updated_at = t0() + chrono::Duration::minutes(5);
    store.save_site_page(&edited).await.unwrap();
    assert_eq!(store.site_page(fr.id, PageKind::Terms, "fr").await.unwrap(), edited);
    assert!(matches!(store.site_page(ch.id, PageKind::Terms, "fr").await, Err(StoreError::NotFound)));
    let kinds: Vec<_> = store.site_pages(fr.id).await.unwrap().into_iter().map(|p| p.kind).collect();
    assert_eq!(kinds, [PageKind::Legal, PageKind::Terms]);
}

pub async fn terms_acceptances_are_recorded_once_per_version(store: Arc<dyn Store>) {
    let luna = user(&*store, "luna@example.fr").await;
    store.record_terms_acceptance(luna.id, 1, t0()).await.unwrap();
    store.record_terms_acceptance(luna.id, 1, t0() + chrono::Duration::days(1)).await.unwrap();
    store.record_terms_acceptance(luna.id, 2, t0() + chrono::Duration::days(2)).await.unwrap();
    let versions = store.terms_acceptances(luna.id).await.unwrap();
    assert_eq!(versions, [(1, t0()), (2, t0() + chrono::Duration::days(2))]);
}
