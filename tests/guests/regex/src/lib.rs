//! A closure whose helper reads a global regex pattern: packing it runs the
//! analysis of globals over a module that carries the regex crate.

use regex::Regex;
use shipfn_guest::{Closure, Global, maker, ship};

/// The pattern, set by the maker and read only by a helper.
pub static PATTERN: Global<String> = Global::new(String::new);

#[inline(never)]
fn matches(text: &str) -> bool {
    PATTERN.with(|pattern| Regex::new(pattern).is_ok_and(|re| re.is_match(text)))
}

/// `|text| PATTERN matches text`.
#[maker]
pub fn matcher(pattern: String) -> Closure<(String,), bool> {
    PATTERN.set(pattern);
    ship!(|text: String| matches(&text))
}
