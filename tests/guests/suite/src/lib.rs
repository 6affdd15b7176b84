//! Test guest: one maker per behaviour that the end-to-end tests check.

use std::collections::{BTreeMap, HashMap};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use shipfn_guest::{Closure, Global, export, maker, ship};

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub enum Shape {
    Circle { r: f64 },
    Rect(f64, f64),
    Empty,
}

fn area(shape: &Shape) -> f64 {
    match shape {
        Shape::Circle { r } => 3.0 * r * r,
        Shape::Rect(w, h) => w * h,
        Shape::Empty => 0.0,
    }
}

/// Captures a value of every common serde kind; the result shows them all.
#[maker]
pub fn kitchen_sink(name: String, scale: f64) -> Closure<(i64,), String> {
    let flag = true;
    let count: u8 = 7;
    let list = vec![1i64, 2, 3];
    let mut table = HashMap::new();
    table.insert("a".to_string(), 10i64);
    let ordered: BTreeMap<u32, String> = [(1, "one".to_string()), (2, "two".to_string())].into();
    let point = Point { x: 1.5, y: -2.0 };
    let shape = Shape::Rect(2.0, 3.0);
    let circle = Shape::Circle { r: 1.0 };
    let empty = Shape::Empty;
    let maybe: Option<String> = Some("hi".into());
    let nothing: Option<i32> = None;
    ship!(move |n: i64| {
        let sum: i64 = list.iter().sum::<i64>() + n;
        let areas = area(&shape) + area(&circle) + area(&empty);
        format!(
            "{name} flag={flag} count={count} sum={sum} a={} one={} point=({}, {}) areas={areas} maybe={maybe:?} nothing={nothing:?} scaled={}",
            table["a"],
            ordered[&1],
            point.x,
            point.y,
            scale * n as f64
        )
    })
}

/// Vectors copied in bulk (`Vec<u8>`, `Vec<f32>`, `Vec<f64>`) beside one that
/// serde writes element by element.
#[maker]
pub fn vectors(bytes: Vec<u8>, floats: Vec<f64>) -> Closure<(usize,), String> {
    let singles: Vec<f32> = floats.iter().map(|&f| f as f32).collect();
    let words: Vec<u16> = bytes.iter().map(|&b| u16::from(b) * 100).collect();
    let later = Vec::new(); // its element type is known only from the body
    ship!(move |i: usize| {
        singles.push(0.25);
        let pinned: &Vec<f64> = &later;
        let total = bytes.len() + floats.len() + singles.len() + words.len() + pinned.len();
        format!("{:?} {:?} {:?} {:?} {total}", bytes.get(i), floats.get(i), singles.last(), words.get(i))
    })
}

/// Structs in, structs out.
#[maker]
pub fn mover(offset: Point) -> Closure<(Point, f64), Point> {
    ship!(move |p: Point, factor: f64| Point { x: p.x * factor + offset.x, y: p.y * factor + offset.y })
}

/// Several parameters, passed in order.
#[maker]
pub fn linear(a: i64) -> Closure<(i64, i64, i64), i64> {
    ship!(move |x: i64, y: i64, z: i64| a * x + y - z)
}

/// A closure that captures two other shippable closures and calls them.
#[maker]
pub fn compose(k: i64) -> Closure<(i64,), i64> {
    let scale = ship!(move |x: i64| x * k);
    let inc = ship!(|x: i64| x + 1);
    ship!(move |x: i64| inc.call(scale.call(x)))
}

fn fib(n: u64) -> u64 {
    if n < 2 { n } else { fib(n - 1) + fib(n - 2) }
}

/// For `shipfn map`: `x * k`; an error for a negative `x`, a panic for 13.
#[maker]
pub fn mapper(k: i64) -> Closure<(i64,), Result<i64, String>> {
    ship!(move |x: i64| {
        if x == 13 {
            panic!("13 is unlucky");
        }
        if x < 0 { Err(format!("{x} is negative")) } else { Ok(x * k) }
    })
}

/// A closure that returns a closure: `adder(k)(x)` is `|y| x + y + k`.
#[maker]
pub fn adder(k: i64) -> Closure<(i64,), Closure<(i64,), i64>> {
    ship!(move |x: i64| ship!(move |y: i64| x + y + k))
}

/// As `adder`, returning a fallible closure: `divider(k)(x)` is `|d| (x + k) / d`.
#[maker]
pub fn divider(k: i64) -> Closure<(i64,), Closure<(i64,), Result<i64, String>>> {
    ship!(move |x: i64| ship!(move |d: i64| if d == 0 { Err(format!("{} / 0", x + k)) } else { Ok((x + k) / d) }))
}

/// Recursion inside shipped code.
#[maker]
pub fn fib_from(offset: u64) -> Closure<(u64,), u64> {
    ship!(move |n: u64| fib(n + offset))
}

/// A global the sender sets at run time.
pub static GREETING: Global<String> = Global::new(|| "hello".into());
/// A large global that `greeter`'s closure does not use.
pub static BIG: Global<Vec<u8>> = Global::new(Vec::new);
/// A constant: named in a body, but not a `Global`, so not shipped.
const PUNCTUATION: &str = "!";

/// Sets a global on the sender; the closure sees the value it had at pack time.
#[maker]
pub fn greeter(greeting: String) -> Closure<(String,), String> {
    GREETING.set(greeting);
    BIG.set(vec![7; 1 << 20]);
    ship!(move |who: String| format!("{}, {who}{PUNCTUATION}", GREETING.get()))
}

/// Uses the large global: its snapshot is shipped.
#[maker]
pub fn big_user(len: usize) -> Closure<(), usize> {
    BIG.set(vec![1; len]);
    ship!(|| BIG.with(|b| b.iter().map(|&x| x as usize).sum()))
}

/// A fallible closure: `Err` is reported with its message.
#[maker]
pub fn checked_div(num: i64) -> Closure<(i64,), Result<i64, String>> {
    ship!(move |d: i64| if d == 0 { Err(format!("cannot divide {num} by zero")) } else { Ok(num / d) })
}

/// Panics for positive input.
#[maker]
pub fn panicky() -> Closure<(i64,), i64> {
    ship!(|x: i64| {
        if x > 0 {
            panic!("x was {x}");
        }
        x
    })
}

/// Allocates `len` bytes and reports the memory's size in 64 KiB pages
/// before and after.
#[maker]
pub fn heap_user() -> Closure<(usize,), (usize, usize)> {
    ship!(|len: usize| {
        let before = core::arch::wasm32::memory_size(0);
        let buffer = black_box(vec![1u8; len]);
        let after = core::arch::wasm32::memory_size(0);
        drop(buffer);
        (before, after)
    })
}

static CALLS: AtomicU64 = AtomicU64::new(0);

/// Counts its calls in a plain static (not a [`Global`], so not shipped): a
/// fresh instance starts from zero, a reused one remembers.
#[maker]
pub fn tally() -> Closure<(), u64> {
    ship!(|| CALLS.fetch_add(1, Ordering::Relaxed) + 1)
}

/// Never returns.
#[maker]
pub fn spin() -> Closure<(), u64> {
    ship!(|| {
        let mut i = 0u64;
        loop {
            i = black_box(i.wrapping_add(1));
        }
    })
}

/// Allocates until something stops it.
#[maker]
pub fn memory_bomb() -> Closure<(), usize> {
    ship!(|| {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            hoard.push(black_box(vec![1; 1 << 20]));
        }
    })
}

fn depth(n: u64) -> u64 {
    if n == 0 { 0 } else { 1 + depth(black_box(n - 1)) }
}

/// Recursion without bound.
#[maker]
pub fn deep() -> Closure<(u64,), u64> {
    ship!(|n: u64| depth(n))
}

/// Recursion that keeps `levels` KiB-sized arrays on the shadow stack at once.
#[maker]
pub fn stack_user() -> Closure<(u32,), u64> {
    ship!(|levels: u32| kib_frames(levels))
}

fn kib_frames(levels: u32) -> u64 {
    let mut block = [levels as u8; 1024];
    std::hint::black_box(&mut block);
    if levels == 0 {
        return 0;
    }
    kib_frames(levels - 1) + u64::from(block[1023])
}

/// A result of `len` bytes.
#[maker]
pub fn bytes() -> Closure<(usize,), Vec<u8>> {
    ship!(|len: usize| vec![0; len])
}

/// Strings, bools and options as parameters.
#[maker]
pub fn describe() -> Closure<(String, bool, Option<u32>), String> {
    ship!(|word: String, loud: bool, times: Option<u32>| {
        let text = word.repeat(times.unwrap_or(1) as usize);
        if loud { text.to_uppercase() } else { text }
    })
}

/// A plain function, packed with `--fn add`.
#[export]
pub fn add(a: i64, b: i64) -> i64 {
    a + b
}

/// A closure capturing `megabytes` MiB: half bytes (all 7), half floats
/// (all 0.5). Its body does O(1) work, so a call measures shipping the state.
#[maker]
pub fn big_state(megabytes: usize) -> Closure<(), (usize, f64)> {
    let half = megabytes << 19;
    let bytes: Vec<u8> = vec![7; half];
    let floats: Vec<f64> = vec![0.5; half / 8];
    ship!(move || {
        let ends = [bytes.first(), bytes.last()].into_iter().flatten().map(|&b| f64::from(b));
        let ends = ends.chain([floats.first(), floats.last()].into_iter().flatten().copied());
        (bytes.len() + floats.len() * 8, ends.sum::<f64>())
    })
}

/// A global that only a helper function reads.
pub static SCALE: Global<i64> = Global::new(|| 1);

#[inline(never)]
fn scaled(x: i64) -> i64 {
    x * SCALE.get()
}

/// Sets `SCALE`, which only a helper reads: it ships by itself.
#[maker]
pub fn scaled_by(scale: i64) -> Closure<(i64,), i64> {
    SCALE.set(scale);
    ship!(|x: i64| scaled(x))
}

/// A function passed by name (reading `SCALE`) and a closure without
/// captures: both are captured without bytes, and `SCALE` ships.
#[maker]
pub fn by_name(scale: i64) -> Closure<(i64,), i64> {
    SCALE.set(scale);
    let square = |x: i64| x * x;
    ship!(move |n: i64| (1..=n).map(scaled).map(square).sum())
}

/// As `scaled_by`, with the global named in the body: it is shipped.
#[maker]
pub fn scaled_by_named(scale: i64) -> Closure<(i64,), i64> {
    SCALE.set(scale);
    ship!(|x: i64| {
        let _ = &SCALE;
        scaled(x)
    })
}

/// A closure that sets the global itself before the helper reads it.
#[maker]
pub fn scaled_by_itself() -> Closure<(i64, i64), i64> {
    ship!(|scale: i64, x: i64| {
        SCALE.set(scale);
        scaled(x)
    })
}

/// A plain function whose helper reads a global: with no sender-side state,
/// it reads the global's own value.
#[export]
pub fn scaled_plain(x: i64) -> i64 {
    scaled(x)
}

/// Fails with the message it was given.
#[maker]
pub fn echo_error(message: String) -> Closure<(), Result<(), String>> {
    ship!(move || Err(message.clone()))
}

/// A global read two helper calls below the body.
pub static OFFSET: Global<i64> = Global::new(|| 0);

#[inline(never)]
fn offset(x: i64) -> i64 {
    black_box(x) + OFFSET.get()
}

#[inline(never)]
fn twice_offset(x: i64) -> i64 {
    offset(x) * 2
}

/// Sets `OFFSET`, which a helper of a helper reads: it ships by itself.
#[maker]
pub fn offset_deep(by: i64) -> Closure<(i64,), i64> {
    OFFSET.set(by);
    ship!(|x: i64| twice_offset(x))
}

/// Sets `SCALE`, which only a helper of a captured closure reads.
#[maker]
pub fn scaled_inside(scale: i64) -> Closure<(i64,), i64> {
    SCALE.set(scale);
    let inner = ship!(|x: i64| scaled(x));
    ship!(move |x: i64| inner.call(x) + 1)
}

/// A global that the sender never gives a value.
pub static UNSET: Global<i64> = Global::new(|| 40);

#[inline(never)]
fn plus_unset(x: i64) -> i64 {
    x + UNSET.get()
}

/// Reads `UNSET` in a helper: its initializer runs on the receiver.
#[maker]
pub fn unset_reader() -> Closure<(i64,), i64> {
    ship!(|x: i64| plus_unset(x))
}

/// A value without serde impls.
pub struct Handle(pub i64);

/// A global that cannot travel.
pub static LOCAL: Global<Handle> = Global::local(|| Handle(0));

#[inline(never)]
fn local_plus(x: i64) -> i64 {
    x + LOCAL.with(|h| h.0)
}

/// Sets `LOCAL` and ships a closure whose helper reads it: refused at pack time.
#[maker]
pub fn local_reader(value: i64) -> Closure<(i64,), i64> {
    LOCAL.set(Handle(value));
    ship!(|x: i64| local_plus(x))
}

/// Two globals that the code reaches only through pointers kept in data.
pub static LEFT: Global<i64> = Global::new(|| 1);
pub static RIGHT: Global<i64> = Global::new(|| 2);
static SIDES: [&Global<i64>; 2] = [&LEFT, &RIGHT];

#[inline(never)]
fn side(x: i64) -> i64 {
    SIDES[black_box(x).rem_euclid(2) as usize].get()
}

/// Sets `LEFT` and ships a closure that reads it through `SIDES`: refused at
/// pack time.
#[maker]
pub fn side_reader(value: i64) -> Closure<(i64,), i64> {
    LEFT.set(value);
    ship!(|x: i64| side(x))
}

/// Three levels of returned closures: `stacker(k)(a)(b)(c)` is `k + a + b + c`.
#[maker]
pub fn stacker(k: i64) -> Closure<(i64,), Closure<(i64,), Closure<(i64,), i64>>> {
    ship!(move |a: i64| ship!(move |b: i64| ship!(move |c: i64| k + a + b + c)))
}

/// Five levels of closures: `stacker5(k)(a)(b)(c)(d)(e)` is the sum. The
/// first four levels can be saved as packages; the fifth cannot.
#[maker]
#[allow(clippy::type_complexity)]
pub fn stacker5(k: i64) -> Closure<(i64,), Closure<(i64,), Closure<(i64,), Closure<(i64,), Closure<(i64,), i64>>>>> {
    ship!(move |a: i64| {
        ship!(move |b: i64| ship!(move |c: i64| ship!(move |d: i64| ship!(move |e: i64| k + a + b + c + d + e))))
    })
}

/// A global only the closure that `offset_later`'s closure returns reads.
pub static LATER: Global<i64> = Global::new(|| 0);

#[inline(never)]
fn later(x: i64) -> i64 {
    black_box(x) + LATER.get()
}

/// Sets `LATER`, which only the returned closure's helper reads: the outer
/// closure does not carry it, so the returned one cannot be saved.
#[maker]
pub fn offset_later(by: i64) -> Closure<(i64,), Closure<(i64,), i64>> {
    LATER.set(by);
    ship!(move |a: i64| ship!(move |b: i64| a + later(b)))
}

/// A global whose initializer reads another: `DOUBLE_OFFSET` starts as twice `OFFSET`.
pub static DOUBLE_OFFSET: Global<i64> = Global::new(|| 2 * OFFSET.get());

#[inline(never)]
fn plus_double_offset(x: i64) -> i64 {
    x + DOUBLE_OFFSET.get()
}

/// Sets `OFFSET`, which only `DOUBLE_OFFSET`'s initializer reads, on the
/// receiver as on the sender.
#[maker]
pub fn double_offset(by: i64) -> Closure<(i64,), i64> {
    OFFSET.set(by);
    ship!(|x: i64| plus_double_offset(x))
}
