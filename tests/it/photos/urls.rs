//! Photo URLs against a loopback HTTP server: a good photo (directly and behind three
//! redirects), 404, a server that never answers, one that stops midway, an answer over
//! 5 MB (with and without `Content-Length`), a redirect loop and a fourth redirect. Each
//! failure is a rejected row naming the store, the field and the URL; the good ones are
//! downloaded once per run and uploaded once.

use shopsync::exit::Exit;

use super::*;
use crate::support::http_receiver::{Receiver, Reply};

const BIG: usize = 6 * 1024 * 1024;

async fn photo_server() -> Receiver {
    let front = sample("storefront-hz.jpg");
    Receiver::start(move |req| match req.path.as_str() {
        "/front.jpg" => Reply::Bytes {
            status: 200,
            headers: vec![("content-type", "image/jpeg".into())],
            body: front.clone(),
        },
        "/r1" => redirect("/r2"),
        "/r2" => redirect("/r3"),
        "/r3" => redirect("/front.jpg"),
        "/far1" => redirect("/r1"),
        "/loop" => redirect("/loop"),
        "/slow.jpg" => Reply::Hang,
        "/stall.jpg" => Reply::Stall(front[..100].to_vec()),
        "/big.jpg" => Reply::Bytes {
            status: 200,
            headers: vec![],
            body: vec![0xFF; BIG],
        },
        "/big-chunked.jpg" => Reply::Chunked(vec![vec![0xFF; 1024 * 1024]; 6]),
        _ => Reply::Bytes {
            status: 404,
            headers: vec![],
            body: b"not here".to_vec(),
        },
    })
    .await
}

fn redirect(to: &str) -> Reply {
    Reply::Bytes {
        status: 302,
        headers: vec![("location", to.to_string())],
        body: Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn photo_urls_are_downloaded_with_bounds_and_failures_name_store_field_and_url() {
    let server = photo_server().await;
    let urls: Vec<String> = [
        "/front.jpg",
        "/r1",
        "/missing.jpg",
        "/slow.jpg",
        "/stall.jpg",
        "/big.jpg",
        "/big-chunked.jpg",
        "/loop",
        "/far1",
    ]
    .iter()
    .map(|p| server.url(p))
    .collect();
    let interiors = ["images/counter.jpg", "images/seating.png"];
    let audit: Vec<Vec<&str>> = urls
        .iter()
        .map(|u| {
            let mut a = vec![u.as_str()];
            a.extend(interiors);
            a
        })
        .collect();
    let rows: Vec<(usize, &str, &[&str])> = urls
        .iter()
        .zip(&audit)
        .enumerate()
        .map(|(i, (u, a))| (i + 1, u.as_str(), &a[..]))
        .collect();
    let h = photo_harness(photo_csv(&rows), "").await;
    write_standard_photos(&h);
    // A short download deadline: the harness's config with an [images] table, in a fresh
    // context.
    let path = h.path("shopsync.toml");
    let text = std::fs::read_to_string(&path).unwrap()
        + "\n[images]\ndownload_timeout = \"1s\"\nconnect_timeout = \"1s\"\n";
    std::fs::write(&path, text).unwrap();
    let cfg = shopsync::config::Config::load_with_env(&path, std::iter::empty()).unwrap();
    let ctx = Harness::context(cfg, std::sync::Arc::new(h.clock.clone())).await;

    let started = std::time::Instant::now();
    let r = ctx
        .run(&shopsync::sync::RunOptions {
            apply: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "the slow servers were cut off by the deadline"
    );
    assert_eq!(r.exit, Exit::Partial, "{:?}", r.message);
    assert_eq!(r.summary.created, 2, "{:?}", r.summary);
    let rejected = rejects(&r);
    let expect = [
        (3, "the server answered HTTP 404 Not Found"),
        (4, "no complete answer within 1s"),
        (5, "no complete answer within 1s"),
        (6, "6.0 MB; Alipay takes at most 5 MB (its Content-Length)"),
        (7, "more than 5 MB; Alipay takes at most 5 MB"),
        (8, "redirects: a redirect loop"),
        (9, "redirects: more than 3 redirects"),
    ];
    for (n, why) in expect {
        let store = format!("ST-{n:04}");
        let url = &urls[n - 1];
        let mine: Vec<_> = rejected.iter().filter(|(s, _, _)| *s == store).collect();
        assert_eq!(
            mine.len(),
            2,
            "{store}: main_image and audit_images: {rejected:?}"
        );
        for field in ["main_image", "audit_images"] {
            let (_, _, reason) = mine
                .iter()
                .find(|(_, f, _)| f == field)
                .unwrap_or_else(|| panic!("{store} {field}: {mine:?}"));
            assert!(
                reason.starts_with(&format!("photo {url}: {why}")),
                "{store} {field}: {reason}"
            );
        }
    }
    assert_eq!(rejected.len(), 14, "{rejected:?}");
    // The good URL (twice: directly and behind three redirects) is one content: one upload
    // with the two interiors.
    assert_eq!(uploads(&h), 3);
    let front = server
        .received()
        .iter()
        .filter(|r| r.path == "/front.jpg")
        .count();
    assert_eq!(
        front, 3,
        "each URL read once to plan, the content once more to upload"
    );
    h.finish_audits();
    let a = shop_of(&h, "ST-0001");
    let b = shop_of(&h, "ST-0002");
    assert_eq!(a["main_image"], b["main_image"]);
}
