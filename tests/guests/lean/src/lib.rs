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

/// A reading of the guest's own struct type: the host converts it by the
/// schema the guest traced.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Reading {
    pub sensor: String,
    pub celsius: f64,
    pub ts: u64,
}

/// An enum with unit, newtype and struct variants.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub enum Level {
    Normal,
    Warn(f64),
    Alarm { by: f64, note: Option<String> },
}

/// Thresholds: captured as a struct, and per sensor in a map.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
pub struct Thresholds {
    pub warn: f64,
    pub alarm: f64,
}

/// What the alerter answers.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Alert {
    pub sensor: String,
    pub fahrenheit: f64,
    pub level: Level,
    pub history: Vec<(u64, Level)>,
}

/// A unit of the guest's own enum type, as a global.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
pub enum Unit {
    Celsius,
    Fahrenheit,
}

/// The unit alerts report temperatures in.
pub static UNIT: Global<Unit> = Global::new(|| Unit::Fahrenheit);

fn level(celsius: f64, t: Thresholds, note: Option<String>) -> Level {
    if celsius >= t.alarm {
        Level::Alarm { by: celsius - t.alarm, note }
    } else if celsius >= t.warn {
        Level::Warn(celsius - t.warn)
    } else {
        Level::Normal
    }
}

/// User structs and enums in, out, captured and as a global, nested in a
/// `Vec`, an `Option`, a map and a tuple.
#[maker]
#[allow(clippy::type_complexity)]
pub fn alerter(
    warn: f64,
    alarm: f64,
) -> Closure<(Reading, Vec<Reading>, Option<BTreeMap<String, (Thresholds, u8)>>), Alert> {
    let limits = Thresholds { warn, alarm };
    ship!(move |reading: Reading, past: Vec<Reading>, overrides: Option<BTreeMap<String, (Thresholds, u8)>>| {
        let (chosen, note) = match overrides.as_ref().and_then(|o| o.get(&reading.sensor)) {
            Some((t, priority)) => (*t, Some(format!("override, priority {priority}"))),
            None => (limits, None),
        };
        let shown = match UNIT.get() {
            Unit::Celsius => reading.celsius,
            Unit::Fahrenheit => reading.celsius * 9.0 / 5.0 + 32.0,
        };
        Alert {
            sensor: reading.sensor.clone(),
            fahrenheit: shown,
            level: level(reading.celsius, chosen, note),
            history: past.iter().map(|r| (r.ts, level(r.celsius, chosen, None))).collect(),
        }
    })
}

/// A capture of an enum; an enum in and out.
#[maker]
pub fn leveler(alarm: bool) -> Closure<(Level,), (Level, bool)> {
    let at = if alarm { Level::Alarm { by: 1.5, note: None } } else { Level::Warn(0.5) };
    ship!(move |other: Level| (at.clone(), other == at))
}

/// A type whose `Deserialize` refuses the tracer's sample (zero): it cannot
/// be traced, so a guest without JSON cannot be called with it from JSON.
#[maker]
pub fn nonzero() -> Closure<(core::num::NonZeroU32,), u32> {
    ship!(move |n: core::num::NonZeroU32| n.get() * 2)
}

/// 128-bit integers both ways: as a maker's argument, a closure's
/// parameters and its result.
#[maker]
pub fn wide(offset: i128) -> Closure<(u128, i128), (u128, i128)> {
    ship!(move |unsigned: u128, signed: i128| (unsigned / 2, signed.saturating_add(offset)))
}
