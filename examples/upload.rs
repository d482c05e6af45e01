//! Uploads one file (or standard input, as `-`) with the key and base URL from the environment
//! (`KIE_API_KEY` or `KIE_API_KEY_FILE`, `KIE_BASE_URL`) and prints the download URL: the smallest
//! real program.
//!
//! ```text
//! KIE_API_KEY=... cargo run --example upload -- photo.jpg images/user-uploads
//! ```

use kie_upload::{Client, Upload};

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(src), Some(upload_path)) = (args.next(), args.next()) else {
        eprintln!("usage: upload <FILE|-> <UPLOAD_PATH>");
        std::process::exit(2);
    };
    let result = Client::from_env().and_then(|client| {
        let upload = if src == "-" {
            Upload::reader(std::io::stdin(), upload_path).file_name("stdin.bin")
        } else {
            Upload::file(&src, upload_path)
        };
        client.upload(upload)
    });
    match result {
        Ok(file) => println!("{}", file.download_url),
        Err(e) => {
            eprintln!("error: {src}: {e}");
            std::process::exit(1);
        }
    }
}
