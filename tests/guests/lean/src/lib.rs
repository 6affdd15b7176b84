//! Closures over every kind of std type the host converts to and from
//! JSON. Built twice: without JSON in the guest (`lean`, the host converts)
//! and with it (`lean-json`, the guest's serde does), and the tests check
//! that both give the same text.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use serde::{Deserialize, Serialize};
use shipfn_guest::{Closure, Global, maker, ship};

/// A global of a float type, shipped with the closures that name it.
pub static SCALE: Global<f64> = Global::new(|| 1.5);

/// Captures a string, a bulk `Vec<f32>`, a map and an option; takes a
/// hash map, a tuple with a char and an array; returns a tuple of a sorted
/// map, a float and a 128-bit integer.
#[maker]
#[allow(clippy::type_complexity)]
pub fn mixer(
    label: String,
    weights: Vec<f32>,
    limits: BTreeMap<String, i64>,
    flag: Option<bool>,
) -> Closure<(HashMap<String, u32>, (i8, char), [u16; 3]), (String, BTreeMap<String, u64>, f32, Option<u128>)> {
    ship!(move |counts: HashMap<String, u32>, pair: (i8, char), dims: [u16; 3]| {
        let _ = &SCALE;
        let total: f32 = weights.iter().sum::<f32>() * SCALE.get() as f32;
        let mut sorted = BTreeMap::new();
        for (key, count) in counts {
            let limit = limits.get(&key).copied().unwrap_or(i64::MAX);
            sorted.insert(key, u64::from(count).min(limit as u64));
        }
        let big = flag.map(|f| if f { u128::MAX - u128::from(dims[0]) } else { u128::from(dims[1]) });
        (format!("{label} {} {}", pair.0, pair.1), sorted, total, big)
    })
}

/// A fallible closure over collections: `Ok` with the kept items, or an
/// error message.
#[maker]
pub fn keeper(min: i64) -> Closure<(Vec<i64>, VecDeque<Option<i64>>), Result<BTreeSet<i64>, String>> {
    ship!(move |items: Vec<i64>, extra: VecDeque<Option<i64>>| {
        let kept: BTreeSet<i64> = items.into_iter().chain(extra.into_iter().flatten()).filter(|x| *x >= min).collect();
        if kept.is_empty() { Err(format!("nothing is at least {min}")) } else { Ok(kept) }
    })
}

/// Takes and returns `Result`s, a `Box` and the unit type.
#[maker]
pub fn chooser(bias: f64) -> Closure<(Result<f64, String>, Box<[u8]>), (Result<f64, String>, ())> {
    ship!(move |choice: Result<f64, String>, bytes: Box<[u8]>| {
        let result = match choice {
            Ok(x) => Ok(x + bias + bytes.len() as f64),
            Err(e) => Err(format!("{e}!")),
        };
        (result, ())
    })
}

/// A closure that returns a closure.
#[maker]
pub fn adder(base: i64) -> Closure<(i64,), Closure<(i64,), i64>> {
    ship!(move |step: i64| {
        let total = base + step;
        ship!(move |x: i64| x + total)
    })
}

/// A type of this crate: the host cannot convert it.
#[derive(Serialize, Deserialize)]
pub struct Point {
    pub x: i64,
    pub y: i64,
}

/// Takes a `Point`, which only a guest with JSON reads from JSON.
#[maker]
pub fn shifter(by: i64) -> Closure<(Point,), i64> {
    ship!(move |p: Point| p.x + p.y + by)
}

/// A maker whose parameter is a `Point`.
#[maker]
pub fn from_point(p: Point) -> Closure<(), i64> {
    let sum = p.x + p.y;
    ship!(move || sum)
}

/// Types of this crate named like std's.
pub mod mine {
    use serde::{Deserialize, Serialize};

    /// Not std's `String`: postcard writes it as one varint.
    #[derive(Serialize, Deserialize)]
    pub struct String(pub i64);
}

/// Takes a `mine::String`, which the host must not take for std's.
#[maker]
pub fn impostor() -> Closure<(mine::String,), i64> {
    ship!(move |s: mine::String| s.0 + 1)
}
