//! The first thing to run: starts the bundled emulator on loopback, uploads a file through the real
//! client over HTTP, prints what the service returned, downloads the file back and checks the bytes.
//! No API key and no network needed:
//!
//! ```text
//! cargo run --example quickstart
//! ```

use std::io::Write;

use kie_upload::{Client, Upload};
use kie_upload_emulator::{Config, Emulator};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A stand-in for https://kieai.redpandaai.co on 127.0.0.1, accepting this key.
    let emulator = Emulator::start(Config::new("demo-key"))?;
    println!("emulator listening on {}", emulator.base_url());

    // A file to upload: 3 MiB of varied bytes in a temporary directory.
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("quickstart.bin");
    let data: Vec<u8> = (0..3u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    std::fs::File::create(&path)?.write_all(&data)?;

    // With the real service this is `Client::new(key)` or `Client::from_env()?`.
    let client = Client::builder()
        .api_key("demo-key")
        .base_url(emulator.base_url())
        .build()?;
    let file = client.upload(Upload::file(&path, "examples/quickstart").on_progress(
        |sent, total| {
            eprint!("\rsent {sent} of {} bytes", total.unwrap_or(0));
        },
    ))?;
    eprintln!();

    println!("file name:    {}", file.file_name);
    println!("file path:    {}", file.file_path);
    println!("size:         {} bytes", file.file_size);
    println!("MIME type:    {}", file.mime_type);
    println!("uploaded at:  {}", file.uploaded_at);
    println!(
        "expires at:   {}",
        file.expires_at_rfc3339().unwrap_or_default()
    );
    println!("download URL: {}", file.download_url);

    let mut back = Vec::new();
    client.download_to(&file.download_url, &mut back)?;
    if back != data {
        return Err(format!(
            "downloaded {} bytes that differ from the {} uploaded",
            back.len(),
            data.len()
        )
        .into());
    }
    println!("downloaded {} bytes back: they match", back.len());
    Ok(())
}
