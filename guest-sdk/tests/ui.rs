//! What `ship!` says about code it cannot ship, or now can: each case in
//! `tests/ui` is compiled, and a refused one's diagnostics must be exactly
//! its `.stderr`, an error at the user's own code that says what to do.

#[test]
fn ship_messages() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/fail/*.rs");
}
