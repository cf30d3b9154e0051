//! The test chain's export: Alipay field names as the CSV header (no column mapping), one
//! valid row per store number. Values outside the row (category, brand, images) come from
//! the `[source.defaults]` of `Harness::config_text`.

/// CSV header of the test exports.
pub const HEADER: &str = "store_id,branch_shop_name,province_code,city_code,district_code,address,longitude,latitude,contact_number,business_time,avg_price";

/// One valid CSV row for store `n` (`ST-<n:04>`, Shanghai, Jing'an).
pub fn row(n: usize) -> String {
    format!(
        "ST-{n:04},分店{n:04}号,310000,310100,310106,南京西路{n}号,121.45{:04},31.22{:04},021-6288{:04},周一-周日 09:00-22:00,{}",
        n % 10000,
        n % 10000,
        n % 10000,
        20 + n % 50
    )
}

/// A CSV of stores `1..=n`, header first.
pub fn csv_of(n: usize) -> String {
    let mut s = String::from(HEADER);
    s.push('\n');
    for i in 1..=n {
        s.push_str(&row(i));
        s.push('\n');
    }
    s
}
