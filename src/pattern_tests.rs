//! `src/pattern.rs`'s table matcher against `regress`, on the spec's
//! patterns and ones like the full Atlas spec's.

use crate::pattern::{Repeat, Simple};

/// The spec's patterns, the corpus's, and ones like the full Atlas
/// spec's: every one either in the subset or not, as listed.
const SIMPLE: &[&str] = &[
    "^([a-f0-9]{24})$",
    "^(tgw-)[0-9a-zA-Z]+$",
    "^x",
    "^[a-zA-Z0-9][a-zA-Z0-9-]*$",
    "^[a-z]+a$",
    "^a?a?a?aaa$",
    "^[\\w-]+$",
    "^[-a]$",
    "^\\d{3,5}-[A-Z]{2}$",
    "^[a-z0-9._%+-]+@[a-z0-9.-]+\\.[a-z]{2,}$",
    "^a{2,}b*c+d?$",
    "^(?:ab)c{0}d{1,}?e??$",
    "^\\$[a-z]*\\/\\.\\-$",
    "^[\\]\\[a\\-z]{1,3}$",
    "^([a-zA-Z0-9_][a-zA-Z0-9-]{0,20})$",
    "^$",
    "^",
    "^[A-Z_ ]{1,40}",
];

/// Outside the subset: `regress` decides them.
const NOT_SIMPLE: &[&str] = &[
    "[a-f0-9]{24}",
    "^[0-9]{1,3}(\\.[0-9]{1,3}){3}$",
    "^([a-zA-Z0-9]([a-zA-Z0-9-]){0,21}(?<!-)([\\w-]{0,42}))$",
    "^[^/]+$",
    "^\\S+$",
    "^(?:ab|cd)$",
    "^https://.*$",
    "^[A-Z_]{1,64}$",
    "^[]]$",
    "^a{,3}$",
    "^a{3,1}$",
    "^a$b",
    "^é+$",
    "^[\\w-z]$",
    "^a{99999}$",
    "^([a-zA-Z0-9_]([a-zA-Z0-9-]){0,20})$",
    "^(a",
    "^a)",
];

/// A small deterministic generator (xorshift), so a failure repeats.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// Inputs for `pattern`: strings walked along its table (matches, most
/// of them), the same with a character changed, added or removed, and
/// random strings over the characters it names and a few others.
fn inputs(pattern: &str, simple: &Simple, rng: &mut Rng) -> Vec<String> {
    let mut alphabet: Vec<char> = (0u8..128)
        .filter(|c| simple.slots.iter().any(|s| s.class & (1 << c) != 0))
        .map(char::from)
        .collect();
    alphabet.extend(pattern.chars());
    alphabet.extend([
        'a', 'Z', '0', '-', '_', '.', ' ', '\n', 'é', '\u{2028}', '😀',
    ]);
    let mut out = vec![String::new()];
    for _ in 0..1500 {
        let mut s = String::new();
        for slot in simple.slots.iter() {
            let times = match slot.repeat {
                Repeat::One => 1,
                Repeat::Optional => rng.below(2),
                Repeat::Any => rng.below(4),
            };
            let members: Vec<u8> = (0u8..128).filter(|c| slot.class & (1 << c) != 0).collect();
            for _ in 0..times {
                s.push(char::from(members[rng.below(members.len())]));
            }
        }
        out.push(s.clone());
        let mut chars: Vec<char> = s.chars().collect();
        let at = rng.below(chars.len() + 1);
        match rng.below(3) {
            0 if at < chars.len() => chars[at] = alphabet[rng.below(alphabet.len())],
            1 if at < chars.len() => _ = chars.remove(at),
            _ => chars.insert(at, alphabet[rng.below(alphabet.len())]),
        }
        out.push(chars.into_iter().collect());
        let len = rng.below(70);
        out.push(
            (0..len)
                .map(|_| alphabet[rng.below(alphabet.len())])
                .collect(),
        );
    }
    out
}

#[test]
fn the_subset_matches_exactly_what_regress_matches() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for pattern in SIMPLE {
        let simple = Simple::parse(pattern).unwrap_or_else(|| panic!("{pattern} not simple"));
        let regex = regress::Regex::new(pattern).unwrap();
        let (mut matched, mut refused) = (0, 0);
        for input in inputs(pattern, &simple, &mut rng) {
            let expected = regex.find(&input).is_some();
            assert_eq!(simple.is_match(&input), expected, "{pattern} on {input:?}");
            *(if expected { &mut matched } else { &mut refused }) += 1;
        }
        // The inputs test both answers.
        if !["^x", "^", "^[A-Z_ ]{1,40}"].contains(pattern) {
            assert!(
                matched > 100 && refused > 100,
                "{pattern}: {matched}/{refused}"
            );
        }
    }
}

#[test]
fn patterns_outside_the_subset_are_left_to_regress() {
    for pattern in NOT_SIMPLE {
        assert_eq!(Simple::parse(pattern), None, "{pattern}");
    }
}

#[test]
fn every_pattern_of_the_spec_is_in_the_subset() {
    let spec = include_str!("../spec/openapi.json");
    let spec: serde_json::Value = serde_json::from_str(spec).unwrap();
    let mut found = Vec::new();
    collect(&spec, &mut found);
    assert!(!found.is_empty());
    for pattern in found {
        assert!(SIMPLE.contains(&pattern.as_str()), "{pattern} untested");
    }
}

/// Every `pattern` string in `value`.
fn collect(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            if let Some(serde_json::Value::String(p)) = map.get("pattern") {
                out.push(p.clone());
            }
            map.values().for_each(|v| collect(v, out));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect(v, out)),
        _ => {}
    }
}
