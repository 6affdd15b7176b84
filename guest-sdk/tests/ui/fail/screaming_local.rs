// A SCREAMING_CASE local named in the body: ship! takes such a name for a
// global, a const or a static, so the maker says to rename it.
use shipfn_guest::{Closure, maker, ship};

#[maker]
pub fn capped(cap: i64) -> Closure<(i64,), i64> {
    #[allow(non_snake_case)]
    let LIMIT = cap * 2;
    ship!(|x: i64| x.min(LIMIT))
}

fn main() {}
