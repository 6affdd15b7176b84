//! Typed calls checked by structure: an embedding host's copies of a guest's
//! types must have the guest's fields, in its order, of its types, and its
//! enums' variants, all the way down; each difference is refused, named.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use shipfn_host::{Function, Host, Limits};

use crate::harness::lean;

/// The lean guest's `alerter(20, 30)`, loaded.
fn alerter() -> Function {
    let host = Host::new(Limits::default()).unwrap();
    let wasm = std::fs::read(lean()).unwrap();
    host.load(&host.make(&wasm, "alerter", &["20".into(), "30".into()]).unwrap().to_bytes()).unwrap()
}

/// Exact copies of the guest's types.
mod same {
    use super::*;

    #[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
    pub struct Reading {
        pub sensor: String,
        pub celsius: f64,
        pub ts: u64,
    }

    #[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
    pub enum Level {
        Normal,
        Warn(f64),
        Alarm { by: f64, note: Option<String> },
    }

    #[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
    pub struct Thresholds {
        pub warn: f64,
        pub alarm: f64,
    }

    #[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
    pub struct Alert {
        pub sensor: String,
        pub fahrenheit: f64,
        pub level: Level,
        pub history: Vec<(u64, Level)>,
    }
}

type Overrides<T> = Option<BTreeMap<String, (T, u8)>>;
type Args<R, T> = (R, Vec<R>, Overrides<T>);

fn reading(sensor: &str, celsius: f64, ts: u64) -> same::Reading {
    same::Reading { sensor: sensor.into(), celsius, ts }
}

#[test]
fn a_hosts_exact_copies_of_the_guests_types_call_it() {
    let f = alerter();
    let past = vec![reading("s1", 25.0, 1), reading("s1", 10.0, 2)];
    let alert = f.call::<Args<same::Reading, same::Thresholds>, same::Alert>(&(reading("s1", 35.0, 3), past, None));
    assert_eq!(
        alert.unwrap(),
        same::Alert {
            sensor: "s1".into(),
            fahrenheit: 95.0,
            level: same::Level::Alarm { by: 5.0, note: None },
            history: vec![(1, same::Level::Warn(5.0)), (2, same::Level::Normal)],
        }
    );
    let overrides = BTreeMap::from([("s9".to_string(), (same::Thresholds { warn: 0.0, alarm: 100.0 }, 7))]);
    let alert =
        f.call::<Args<same::Reading, same::Thresholds>, same::Alert>(&(reading("s9", 1.0, 0), vec![], Some(overrides)));
    assert_eq!(alert.unwrap().level, same::Level::Warn(1.0));
}

#[allow(dead_code)]
mod reordered {
    #[derive(serde::Serialize)]
    pub struct Reading {
        pub celsius: f64,
        pub sensor: String,
        pub ts: u64,
    }
}

#[allow(dead_code)]
mod retyped {
    #[derive(serde::Serialize)]
    pub struct Reading {
        pub sensor: String,
        pub celsius: f64,
        pub ts: i64,
    }
}

#[allow(dead_code)]
mod extra {
    #[derive(serde::Serialize)]
    pub struct Reading {
        pub sensor: String,
        pub celsius: f64,
        pub ts: u64,
        pub site: u8,
    }
}

#[allow(dead_code)]
mod missing {
    #[derive(serde::Serialize)]
    pub struct Reading {
        pub sensor: String,
        pub celsius: f64,
    }
}

/// Thresholds with their fields swapped: both `f64`, so postcard alone
/// would swap the values silently.
#[allow(dead_code)]
mod swapped {
    #[derive(serde::Serialize)]
    pub struct Thresholds {
        pub alarm: f64,
        pub warn: f64,
    }
}

#[track_caller]
fn refused<A: shipfn_host::Params>(f: &Function, args: &A, needles: &[&str]) {
    let err = f.call::<A, same::Alert>(args).unwrap_err();
    assert_eq!(err.kind(), shipfn_host::ErrorKind::BadArgs, "{err}");
    let text = err.to_string();
    for needle in needles {
        assert!(text.contains(needle), "{needle:?} not in: {text}");
    }
}

#[test]
fn argument_types_that_differ_are_refused_naming_the_difference() {
    let f = alerter();
    let t = |s: &str| s.to_string();
    let r = reordered::Reading { celsius: 35.0, sensor: t("s1"), ts: 3 };
    refused(
        &f,
        &(r, Vec::<reordered::Reading>::new(), None::<BTreeMap<String, (same::Thresholds, u8)>>),
        &["argument 1 `reading`", "Reading has `sensor` at field 1, the caller's has `celsius`"],
    );
    let r = retyped::Reading { sensor: t("s1"), celsius: 35.0, ts: 3 };
    refused(
        &f,
        &(r, Vec::<retyped::Reading>::new(), None::<BTreeMap<String, (same::Thresholds, u8)>>),
        &[".ts: the package has u64, the caller has i64"],
    );
    let r = extra::Reading { sensor: t("s1"), celsius: 35.0, ts: 3, site: 1 };
    refused(
        &f,
        &(r, Vec::<extra::Reading>::new(), None::<BTreeMap<String, (same::Thresholds, u8)>>),
        &["Reading has 3 fields, the caller's has `site` too"],
    );
    let r = missing::Reading { sensor: t("s1"), celsius: 35.0 };
    refused(
        &f,
        &(r, Vec::<missing::Reading>::new(), None::<BTreeMap<String, (same::Thresholds, u8)>>),
        &["Reading has 3 fields or elements, the caller's has 2"],
    );

    // Inside an `Option` of a map of tuples: checked whenever a value is
    // there. With none, nothing of the type is sent, and the call is right.
    let none: Overrides<swapped::Thresholds> = None;
    let fine = f.call::<Args<same::Reading, swapped::Thresholds>, same::Alert>(&(reading("s1", 1.0, 0), vec![], none));
    assert_eq!(fine.unwrap().level, same::Level::Normal);
    let some = Some(BTreeMap::from([(t("s1"), (swapped::Thresholds { alarm: 1.0, warn: 0.5 }, 1u8))]));
    refused(
        &f,
        &(reading("s1", 1.0, 0), Vec::<same::Reading>::new(), some),
        &["argument 3 `overrides`", "Thresholds has `warn` at field 1, the caller's has `alarm`"],
    );
}

#[allow(dead_code)]
mod variants_reordered {
    #[derive(serde::Deserialize, Debug)]
    pub enum Level {
        Normal,
        Alarm { by: f64, note: Option<String> },
        Warn(f64),
    }

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    pub struct Alert {
        pub sensor: String,
        pub fahrenheit: f64,
        pub level: Level,
        pub history: Vec<(u64, Level)>,
    }
}

#[allow(dead_code)]
mod variant_missing {
    #[derive(serde::Deserialize, Debug)]
    pub enum Level {
        Normal,
        Warn(f64),
    }

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    pub struct Alert {
        pub sensor: String,
        pub fahrenheit: f64,
        pub level: Level,
        pub history: Vec<(u64, Level)>,
    }
}

#[allow(dead_code)]
mod field_retyped_deep {
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    pub enum Level {
        Normal,
        Warn(f32),
        Alarm { by: f64, note: Option<String> },
    }

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    pub struct Alert {
        pub sensor: String,
        pub fahrenheit: f64,
        pub level: Level,
        pub history: Vec<(u64, Level)>,
    }
}

#[test]
fn a_result_type_that_differs_is_refused_before_the_call() {
    let f = alerter();
    let args = (reading("s1", 35.0, 3), vec![reading("s1", 25.0, 1)], None::<BTreeMap<String, (same::Thresholds, u8)>>);
    let text = |e: shipfn_host::Error| {
        assert_eq!(e.kind(), shipfn_host::ErrorKind::BadArgs, "{e}");
        e.to_string()
    };
    let err = text(f.call::<_, variants_reordered::Alert>(&args).unwrap_err());
    assert!(
        err.contains("Level: the package has the variants (Normal, Warn, Alarm), the caller has (Normal, Alarm, Warn)"),
        "{err}"
    );
    let err = text(f.call::<_, variant_missing::Alert>(&args).unwrap_err());
    assert!(err.contains("the caller has (Normal, Warn)"), "{err}");
    let err = text(f.call::<_, field_retyped_deep::Alert>(&args).unwrap_err());
    assert!(err.contains("Level::Warn: the package has f64, the caller has f32"), "{err}");
    // The right types still work on the same function afterwards.
    assert!(f.call::<_, same::Alert>(&args).is_ok());
}
