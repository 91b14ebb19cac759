//! Peak memory of one certificate render, for `benches/memory.sh` and for
//! choosing fonts: `cargo run --release -p certificate-pdf --example peak -- FONT...`
//! prints the process's peak resident memory (VmHWM) after loading the
//! fonts, after the first render and after a second one.

fn hwm() -> String {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("VmHWM") || l.starts_with("VmRSS"))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join(", ")
}

fn main() {
    let files: Vec<Vec<u8>> = std::env::args()
        .skip(1)
        .map(|p| std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}")))
        .collect();
    let fonts = certificate_pdf::Fonts::from_files(files).expect("no usable font face");
    println!("fonts loaded: {}", hwm());
    let cert = certificate_pdf::Certificate {
        number: "（国）法计（2026）01001号".into(),
        station: "国家石油天然气大流量计量站".into(),
        regulator: "国家市场监督管理总局".into(),
        valid_from: "2026-01-01".into(),
        valid_until: "2030-12-31".into(),
        region: "全国".into(),
        items: (1..=12)
            .map(|i| certificate_pdf::Item {
                seq: i.to_string(),
                name: format!("气体流量计量标准装置 {i}"),
                range: "(0.1~1000)m³/h".into(),
                accuracy: "0.5级".into(),
                spec: "JJG 1030-2007".into(),
            })
            .collect(),
        url: "https://example.invalid/verify/x".into(),
        qr_svg: r#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>"#.into(),
    };
    for n in 1..=2 {
        let t = std::time::Instant::now();
        let pdf = certificate_pdf::render(&cert, &fonts).expect("render");
        println!(
            "render {n}: {} bytes in {:?}; {}",
            pdf.len(),
            t.elapsed(),
            hwm()
        );
    }
}
