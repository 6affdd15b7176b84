// A function passed by name, and a closure without captures, are captured
// without bytes; SCREAMING_CASE names of a const, a static and a global
// still compile beside snake_case locals.
use shipfn_guest::{Closure, Global, maker, ship};

static BONUS: Global<i64> = Global::new(|| 1);
const STEP: i64 = 2;

fn double(x: i64) -> i64 {
    x * 2
}

#[maker]
pub fn doubled_sum(k: i64) -> Closure<(i64,), i64> {
    let square = |x: i64| x * x;
    ship!(move |n: i64| (0..n).map(double).map(square).sum::<i64>() + k * STEP + BONUS.get())
}

fn main() {
    let f = doubled_sum(3);
    assert_eq!(f.invoke((4,)), (0..4).map(|x| 4 * x * x).sum::<i64>() + 6 + 1);
}
