extern crate std;

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use serde::Deserialize;

use super::*;

/// The format of `T` and its containers, read back as a host reads them.
fn trace<T: DeserializeOwned>() -> (Format, Vec<(String, Container)>) {
    let mut builder = Builder::new();
    let format = builder.trace::<T>();
    let schema: Schema = postcard::from_bytes(&builder.encode(&[], &format, &[], &[])).unwrap();
    (schema.result, schema.containers)
}

fn named(name: &str, fields: &[(&str, Format)]) -> (String, Container) {
    let fields = fields.iter().map(|(n, f)| (String::from(*n), f.clone())).collect();
    (name.into(), Container::Struct(Body::Struct(fields)))
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Reading {
    sensor: String,
    celsius: f64,
    ts: u64,
    tags: Option<Vec<(u8, char)>>,
    #[serde(with = "serde_bytes")]
    raw: Vec<u8>,
}

#[test]
fn std_types_and_structs() {
    assert_eq!(trace::<i64>(), (Format::I64, vec![]));
    assert_eq!(
        trace::<BTreeMap<String, [u16; 2]>>().0,
        Format::Map(Box::new(Format::Str), Box::new(Format::Tuple(vec![Format::U16; 2])))
    );
    let tags = Format::Option(Box::new(Format::Seq(Box::new(Format::Tuple(vec![Format::U8, Format::Char])))));
    assert_eq!(
        trace::<Vec<Reading>>(),
        (
            Format::Seq(Box::new(Format::Named(0))),
            vec![named(
                "Reading",
                &[
                    ("sensor", Format::Str),
                    ("celsius", Format::F64),
                    ("ts", Format::U64),
                    ("tags", tags),
                    ("raw", Format::Bytes)
                ]
            )]
        )
    );
}

#[derive(Deserialize)]
#[allow(dead_code)]
enum Shape {
    Dot,
    Circle(f64),
    Rect(f64, f64),
    Poly { points: Vec<(i32, i32)>, closed: bool },
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Meters(f64);

#[test]
fn enums_are_explored_variant_by_variant() {
    let (format, containers) = trace::<(Shape, Meters)>();
    assert_eq!(format, Format::Tuple(vec![Format::Named(0), Format::Named(1)]));
    let Container::Enum(variants) = &containers[0].1 else { panic!() };
    let names: Vec<&str> = variants.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["Dot", "Circle", "Rect", "Poly"]);
    assert_eq!(variants[0].1, Body::Unit);
    assert_eq!(variants[2].1, Body::Tuple(vec![Format::F64, Format::F64]));
    assert!(matches!(&variants[3].1, Body::Struct(f) if f[0].0 == "points" && f[1].1 == Format::Bool));
    assert_eq!(containers[1], ("Meters".into(), Container::Struct(Body::Newtype(Format::F64))));
}

#[derive(Deserialize)]
#[allow(dead_code)]
enum List {
    Cons(i64, Box<List>),
    Nil,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Tree {
    value: i64,
    children: Vec<Tree>,
    next: Option<Box<Tree>>,
}

#[test]
fn recursive_types_are_traced() {
    let (format, containers) = trace::<List>();
    assert_eq!(format, Format::Named(0));
    assert_eq!(
        containers[0].1,
        Container::Enum(vec![
            ("Cons".into(), Body::Tuple(vec![Format::I64, Format::Named(0)])),
            ("Nil".into(), Body::Unit)
        ])
    );
    let (_, containers) = trace::<Tree>();
    assert_eq!(
        containers,
        vec![named(
            "Tree",
            &[
                ("value", Format::I64),
                ("children", Format::Seq(Box::new(Format::Named(0)))),
                ("next", Format::Option(Box::new(Format::Named(0))))
            ]
        )]
    );
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Wrapper<T> {
    inner: T,
}

struct Anything;

impl<'de> Deserialize<'de> for Anything {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(d).map(|_| Anything)
    }
}

#[test]
fn what_cannot_be_traced_says_why() {
    let (format, _) = trace::<(Wrapper<i64>, Wrapper<String>)>();
    assert!(matches!(&format, Format::Untraced(m) if m.contains("two different shapes")), "{format:?}");
    let (format, _) = trace::<Vec<Anything>>();
    assert!(matches!(&format, Format::Untraced(m) if m.contains("self-describing")), "{format:?}");
    let (format, _) = trace::<core::num::NonZeroU32>();
    assert!(matches!(&format, Format::Untraced(m) if m.contains("refused the tracer's sample")), "{format:?}");
    let (format, _) = trace::<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<Vec<u8>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>();
    assert!(matches!(&format, Format::Untraced(m) if m.contains("nested more deeply")), "{format:?}");
}

#[test]
fn types_traced_apart_share_one_list_of_containers() {
    let mut builder = Builder::new();
    let params = [builder.trace::<Wrapper<i64>>(), builder.trace::<Option<Wrapper<String>>>()];
    let result = builder.trace::<()>();
    let schema: Schema = postcard::from_bytes(&builder.encode(&params, &result, &[], &[untraced("why")])).unwrap();
    assert_eq!(schema.params, [Format::Named(0), Format::Option(Box::new(Format::Named(1)))]);
    assert_eq!(schema.containers[0], named("Wrapper", &[("inner", Format::I64)]));
    assert_eq!(schema.containers[1], named("Wrapper", &[("inner", Format::Str)]));
    assert_eq!(schema.result, Format::Unit);
    assert_eq!(schema.globals, [Format::Untraced("why".into())]);
}
