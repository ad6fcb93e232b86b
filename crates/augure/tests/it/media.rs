//! SP-media and SP-presentation end to end: uploads are checked and refused with clear
//! messages, everything waits for an admin, and only approved versions are public.

use augure_app::demo;
use augure_testkit::{TestApp, unescape};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};

pub const MP3_20S: &[u8] = include_bytes!("../../../augure-media/tests/fixtures/voice-20s.mp3");

/// A real PNG, made here: the photo's path through decode and re-encode.
pub fn png(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 128]));
    let mut bytes = std::io::Cursor::new(Vec::new());
    image.write_to(&mut bytes, image::ImageFormat::Png).unwrap();
    bytes.into_inner()
}

/// A valid PNG header declaring 100,000 × 100,000 pixels (40 GB decoded): a
/// decompression bomb that must be refused from its header.
fn png_bomb() -> Vec<u8> {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
    }
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut png, b"IHDR", &ihdr);
    // A zlib stream of a few zero bytes: tiny on disk, the header says the rest.
    chunk(&mut png, b"IDAT", &[0x78, 0x9C, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01]);
    chunk(&mut png, b"IEND", &[]);
    png
}

async fn luna(app: &TestApp) -> reqwest::Client {
    app.signed_in("/expert/login", "luna@augure.localhost", demo::DEMO_PASSWORD).await
}

async fn admin(app: &TestApp) -> reqwest::Client {
    app.signed_in("/admin/login", demo::ADMIN_EMAIL, demo::ADMIN_PASSWORD).await
}

async fn upload(
    client: &reqwest::Client,
    app: &TestApp,
    kind: &str,
    name: &str,
    bytes: Vec<u8>,
) -> (StatusCode, String) {
    let form = Form::new().part(kind.to_owned(), Part::bytes(bytes).file_name(name.to_owned()));
    let response = client.post(app.url(&format!("/expert/profile/{kind}"))).multipart(form).send().await.unwrap();
    (response.status(), unescape(&response.text().await.unwrap()))
}

async fn page(client: &reqwest::Client, app: &TestApp, path: &str) -> String {
    unescape(&client.get(app.url(path)).send().await.unwrap().text().await.unwrap())
}

async fn luna_code(app: &TestApp) -> u32 {
    let user = app.store.user_by_email(&"luna@augure.localhost".parse().unwrap()).await.unwrap();
    user.expert_code.unwrap().0
}

#[tokio::test]
async fn sp_media_refuses_bad_uploads_with_clear_messages() {
    let app = TestApp::spawn().await;
    demo::seed(&app.app).await.unwrap();
    let luna = luna(&app).await;

    let (status, page) = upload(&luna, &app, "photo", "holiday.jpg", b"I am a text file, not a picture".to_vec()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("n'est pas une image"), "{page}");

    let (status, page) = upload(&luna, &app, "photo", "bomb.png", png_bomb()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("trop grande"), "{page}");

    let big: Vec<u8> = MP3_20S.iter().copied().cycle().take(10 * 1024 * 1024).collect();
    let (status, page) = upload(&luna, &app, "audio", "big.mp3", big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(page.contains("taille maximale de 2 MB"), "{page}");

    let truncated = MP3_20S[..MP3_20S.len() * 6 / 10].to_vec();
    let (status, page) = upload(&luna, &app, "audio", "cut.mp3", truncated).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("incomplet"), "{page}");

    let (status, page) = upload(&luna, &app, "audio", "photo.mp3", png(40, 40)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("n'est pas un MP3"), "{page}");

    let short = luna
        .post(app.url("/expert/profile/presentation"))
        .form(&[("locale", "fr"), ("text", "Trop court")])
        .send()
        .await
        .unwrap();
    assert_eq!(short.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unescape(&short.text().await.unwrap()).contains("caractères"));
    assert!(app.app.media.queue(10).await.unwrap().is_empty(), "nothing refused reached the queue");
}

#[tokio::test]
async fn sp_media_waits_for_approval_and_the_profile_keeps_the_last_approved_version() {
    let app = TestApp::spawn().await;
    demo::seed(&app.app).await.unwrap();
    let code = luna_code(&app).await;
    let luna = luna(&app).await;
    let anonymous = TestApp::new_client();

    let (status, _) = upload(&luna, &app, "photo", "me.png", png(1600, 1200)).await;
    assert_eq!(status, StatusCode::OK, "redirected to the media page");
    let (status, _) = upload(&luna, &app, "audio", "voice.mp3", MP3_20S.to_vec()).await;
    assert_eq!(status, StatusCode::OK);
    let sent = luna
        .post(app.url("/expert/profile/presentation"))
        .form(&[("locale", "fr"), ("text", "Tarologue depuis vingt ans, j'éclaire vos choix avec douceur.")])
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), StatusCode::OK);
    let own = page(&luna, &app, "/expert/profile").await;
    assert_eq!(own.matches("data-status=\"pending\"").count(), 3, "{own}");

    let queue = app.app.media.queue(10).await.unwrap();
    assert_eq!(queue.len(), 3);
    let photo = queue.iter().find(|m| m.kind == augure_domain::media::MediaKind::Photo).unwrap();
    assert_eq!((photo.width, photo.height), (Some(800), Some(600)), "re-encoded within bounds");
    let audio = queue.iter().find(|m| m.kind == augure_domain::media::MediaKind::Audio).unwrap();
    assert!(audio.duration_ms.is_some_and(|ms| (19_000..=21_000).contains(&ms)));

    // Nothing is public yet, not even by guessing the file's address.
    let profile = page(&anonymous, &app, &format!("/experts/{code}")).await;
    assert!(!profile.contains("/media/") && !profile.contains("j'éclaire"));
    let hidden = anonymous.get(app.url(&format!("/media/{}.jpg", photo.id))).send().await.unwrap();
    assert_eq!(hidden.status(), StatusCode::NOT_FOUND);
    assert_eq!(luna.get(app.url(&format!("/media/{}.jpg", photo.id))).send().await.unwrap().status(), StatusCode::OK);

    let admin = admin(&app).await;
    let list = page(&admin, &app, "/admin/moderation").await;
    assert!(list.contains(&format!("media-{}", photo.id)) && list.contains("j'éclaire"));
    let no_reason = admin
        .post(app.url(&format!("/admin/moderation/{}", audio.id)))
        .form(&[("decision", "refuse"), ("reason", " ")])
        .send()
        .await
        .unwrap();
    assert_eq!(no_reason.status(), StatusCode::UNPROCESSABLE_ENTITY, "a refusal needs a reason");
    for item in &queue {
        let (decision, reason) = if item.id == audio.id { ("refuse", "Le son sature.") } else { ("approve", "") };
        let response = admin
            .post(app.url(&format!("/admin/moderation/{}", item.id)))
            .form(&[("decision", decision), ("reason", reason)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    let again = admin
        .post(app.url(&format!("/admin/moderation/{}", photo.id)))
        .form(&[("decision", "refuse"), ("reason", "late")])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::CONFLICT, "decided once");

    let profile = page(&anonymous, &app, &format!("/experts/{code}")).await;
    assert!(profile.contains(&format!("/media/{}.jpg", photo.id)) && profile.contains("j'éclaire"));
    assert!(!profile.contains("<audio"), "the refused audio is not shown");
    let file = anonymous.get(app.url(&format!("/media/{}.jpg", photo.id))).send().await.unwrap();
    assert_eq!(file.headers()["content-type"], "image/jpeg");
    assert!(file.headers()["cache-control"].to_str().unwrap().contains("immutable"));
    let home = page(&anonymous, &app, "/").await;
    assert!(home.contains(&format!("/media/{}.jpg", photo.id)) && home.contains("j'éclaire"), "the card shows it");

    // A newer photo waits while the approved one stays public.
    upload(&luna, &app, "photo", "new.png", png(300, 300)).await;
    let profile = page(&anonymous, &app, &format!("/experts/{code}")).await;
    assert!(profile.contains(&format!("/media/{}.jpg", photo.id)));

    app.drain_jobs().await;
    let mails = app.mails_to("luna@augure.localhost").await;
    let subjects: Vec<&str> = mails.iter().map(|m| m.mail.subject.as_str()).collect();
    assert!(subjects.contains(&"Photo : publiée"), "the subject agrees with its noun: {subjects:?}");
    assert!(subjects.iter().filter(|s| s.ends_with("publiée")).count() == 2, "{subjects:?}");
    let refused = mails.iter().find(|m| m.mail.subject.ends_with("refusée")).expect("refusal mail");
    assert!(refused.mail.text_body.contains("Le son sature."), "{}", refused.mail.text_body);
}

/// B10: decoding is bounded (a photo can take 256 MB while decoded); when every slot stays
/// taken the expert is asked to send the file again, and nothing is queued.
#[tokio::test]
async fn uploads_wait_for_a_decoding_slot_and_are_asked_to_retry_when_none_frees() {
    let app = TestApp::spawn_with(|s| {
        s.media.decodes_at_once = 0;
        s.media.decode_wait_seconds = 0;
    })
    .await;
    demo::seed(&app.app).await.unwrap();
    let luna = luna(&app).await;
    let (status, page) = upload(&luna, &app, "photo", "portrait.png", png(400, 300)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(page.contains("renvoyez le vôtre dans un instant"), "{page}");
    let (status, _) = upload(&luna, &app, "audio", "voice.mp3", MP3_20S.to_vec()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(app.app.media.queue(10).await.unwrap().is_empty(), "nothing reached the queue");
}
