// A captured value without serde: the error names its type at the capture.
use shipfn_guest::{Closure, maker, ship};

pub struct Settings {
    pub factor: i64,
}

#[maker]
pub fn scaled(factor: i64) -> Closure<(i64,), i64> {
    let settings = Settings { factor };
    ship!(move |x: i64| x * settings.factor)
}

fn main() {}
