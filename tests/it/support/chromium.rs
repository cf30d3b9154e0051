//! Headless Chromium from Debian's `chromium` package (installed with apt-get when
//! missing), run once per page in a fresh profile, with its console on stderr.
//!
//! Console messages are read from Chromium's own log (`--enable-logging=stderr --v=1`
//! prints every console message as `…:CONSOLE…] "text", source: URL (line)`), not over
//! the DevTools protocol: one process per check, nothing to drive.
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub const CHROMIUM: &str = "/usr/bin/chromium";
/// Kills a Chromium that does not finish (coreutils `timeout`), so a hang fails the test.
const DEADLINE_SECS: &str = "120";

/// The Chromium binary, installed from Debian's package if missing (the tests run as
/// root, as on CI).
pub fn chromium() -> &'static Path {
    static READY: OnceLock<()> = OnceLock::new();
    READY.get_or_init(|| {
        if !Path::new(CHROMIUM).exists() {
            let st = Command::new("sh")
                .args([
                    "-c",
                    "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 chromium",
                ])
                .status()
                .expect("run apt-get");
            assert!(st.success(), "installing chromium failed: {st}");
        }
        assert!(Path::new(CHROMIUM).exists(), "{CHROMIUM} missing after install");
    });
    Path::new(CHROMIUM)
}

/// What one headless run left behind.
pub struct PageRun {
    /// `--dump-dom`: the DOM after parsing, serialised.
    pub dom: String,
    /// Every console message the page produced.
    pub console: Vec<String>,
    /// The screenshot, when one was asked for.
    pub screenshot: Option<PathBuf>,
}

fn run(page: &Path, extra: &[String]) -> (String, Vec<String>) {
    let profile = tempfile::tempdir().unwrap();
    let url = format!("file://{}", page.canonicalize().unwrap().display());
    let out = Command::new("timeout")
        .arg(DEADLINE_SECS)
        .arg(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=1",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(&url)
        .output()
        .expect("run chromium");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "chromium {extra:?} {url} failed ({}): {}",
        out.status,
        stderr
            .lines()
            .filter(|l| l.contains("ERROR"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let console = stderr
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_string)
        .collect();
    (String::from_utf8_lossy(&out.stdout).into_owned(), console)
}

/// Loads `page` (a local file) and returns its DOM and console messages.
pub fn dump_dom(page: &Path) -> PageRun {
    let (dom, console) = run(page, &["--dump-dom".to_string()]);
    PageRun {
        dom,
        console,
        screenshot: None,
    }
}

/// Loads `page` in a `width`×`height` window and screenshots it into `out_dir`.
pub fn screenshot(page: &Path, width: u32, height: u32, out_dir: &Path) -> PageRun {
    let png = out_dir.join("screenshot.png");
    let (_, console) = run(
        page,
        &[
            format!("--screenshot={}", png.display()),
            format!("--window-size={width},{height}"),
        ],
    );
    assert!(png.exists(), "chromium wrote no screenshot");
    PageRun {
        dom: String::new(),
        console,
        screenshot: Some(png),
    }
}

/// An RGBA image.
pub struct Image {
    pub width: u32,
    pub height: u32,
    pub rgba: Vec<u8>,
}

impl Image {
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 4] {
        let i = ((y * self.width + x) * 4) as usize;
        self.rgba[i..i + 4].try_into().unwrap()
    }
}

/// Decodes a PNG (RGB or RGBA, 8 bits) into RGBA.
pub fn decode_png(path: &Path) -> Image {
    let mut decoder =
        png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::ALPHA);
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    assert_eq!(
        info.color_type,
        png::ColorType::Rgba,
        "EXPAND|ALPHA gives RGBA"
    );
    buf.truncate(info.buffer_size());
    Image {
        width: info.width,
        height: info.height,
        rgba: buf,
    }
}

/// The text of a serialised DOM: tags dropped, the common entities decoded, `<head>`
/// and `<style>` left out.
pub fn text_content(dom: &str) -> String {
    let body = dom.find("<body").map(|i| &dom[i..]).unwrap_or(dom);
    let mut out = String::new();
    let mut in_tag = false;
    for c in body.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    let out = out
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&");
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}
