//! The spec's string `pattern`s of a simple subset, checked without a regex
//! engine.
//!
//! typify checks a constrained string against its pattern with `regress`
//! (a backtracking engine compiled on first use): about 1,000 instructions
//! for a 24-character id, a sixth of what decoding the rest of a Kafka
//! connection costs. Most patterns of the Atlas spec are anchored runs of
//! character classes (`^([a-f0-9]{24})$`, `^(tgw-)[0-9a-zA-Z]+$`), which a
//! table of ASCII sets walked once over the input decides exactly. The build
//! (codegen/patterns.rs, which compiles this file too) parses each pattern
//! with [`Simple::parse`] and writes the table in place of the regex; a
//! pattern outside the subset keeps `regress`.
//!
//! The subset, in ECMAScript syntax as `regress` reads it without flags:
//! a leading `^`; then ASCII literals, `\d`, `\w`, escaped syntax
//! characters, and classes `[...]` of those and of ranges, not negated; each
//! with a quantifier (`?`, `*`, `+`, `{n}`, `{n,}`, `{n,m}`, lazy or not)
//! or none; groups `(...)` and `(?:...)` without a quantifier or an
//! alternative; an optional trailing `$`. Every set holds ASCII only, so a
//! character beyond ASCII never matches, whether an engine reads the input
//! by code point or by UTF-16 unit. The tests run both matchers on
//! thousands of strings per pattern (`pattern_tests.rs`: not here, since
//! the build compiles this file without the library's dependencies).

#![allow(
    dead_code,
    reason = "the build (codegen/patterns.rs) uses the parser, the library the \
              matcher, and a spec may use some forms only"
)]

use std::borrow::Cow;

/// How many positions a pattern may expand to (a bit each, and one for the
/// end, in a `u64`); a longer one keeps `regress`.
pub const MAX_SLOTS: usize = 63;

/// How often a position's set matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Repeat {
    /// Exactly once.
    One,
    /// Once or not at all.
    Optional,
    /// Any number of times.
    Any,
}

/// One position of a pattern: the ASCII characters it takes (bit `c` for
/// character `c`) and how often.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    pub class: u128,
    pub repeat: Repeat,
}

/// A pattern of the subset: its positions in order, from the start of the
/// input; `to_end` when the pattern ends with `$` (else a match of a prefix
/// is a match, as `find` has it for a pattern anchored at the start only);
/// `fixed` when every position is [`Repeat::One`] (a byte each).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Simple {
    pub slots: Cow<'static, [Slot]>,
    pub to_end: bool,
    pub fixed: bool,
}

impl Simple {
    /// The pattern's table, if the whole pattern is in the subset.
    pub fn parse(pattern: &str) -> Option<Simple> {
        let mut parser = Parser {
            chars: pattern.strip_prefix('^')?.chars().peekable(),
            slots: Vec::new(),
            to_end: false,
        };
        parser.sequence(0)?;
        Some(Simple {
            fixed: parser.slots.iter().all(|s| s.repeat == Repeat::One),
            slots: Cow::Owned(parser.slots),
            to_end: parser.to_end,
        })
    }

    /// Whether `input` matches, as `regress`'s `find(input).is_some()`
    /// would say.
    pub fn is_match(&self, input: &str) -> bool {
        let slots = &*self.slots;
        if self.fixed {
            return self.fixed_match(input.as_bytes());
        }
        let end = 1u64 << slots.len();
        let mut states = closure(slots, 1);
        for c in input.chars() {
            if !self.to_end && states & end != 0 {
                return true;
            }
            states = step(slots, states, c);
            if states == 0 {
                return false;
            }
        }
        states & end != 0
    }

    /// [`Self::is_match`] for a pattern without repetition: each byte of
    /// the input against its position (a byte beyond ASCII is in no set).
    fn fixed_match(&self, input: &[u8]) -> bool {
        let n = self.slots.len();
        let length_ok = match self.to_end {
            true => input.len() == n,
            false => input.len() >= n,
        };
        length_ok
            && self
                .slots
                .iter()
                .zip(input)
                .all(|(slot, &b)| in_class(slot.class, u32::from(b)))
    }
}

/// Whether character `c` is in `class`.
fn in_class(class: u128, c: u32) -> bool {
    c < 128 && class & (1u128 << c) != 0
}

/// `states` with every position reachable without reading a character:
/// past an optional or repeated one.
fn closure(slots: &[Slot], mut states: u64) -> u64 {
    for (p, slot) in slots.iter().enumerate() {
        if states & (1 << p) != 0 && slot.repeat != Repeat::One {
            states |= 1 << (p + 1);
        }
    }
    states
}

/// The positions reached from `states` by reading `c`.
fn step(slots: &[Slot], states: u64, c: char) -> u64 {
    let mut next = 0;
    for (p, slot) in slots.iter().enumerate() {
        if states & (1 << p) != 0 && in_class(slot.class, c as u32) {
            next |= match slot.repeat {
                Repeat::Any => 1 << p,
                Repeat::One | Repeat::Optional => 1 << (p + 1),
            };
        }
    }
    closure(slots, next)
}

/// Reads a pattern after its `^`; `None` as soon as anything is outside
/// the subset.
struct Parser<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    slots: Vec<Slot>,
    to_end: bool,
}

/// Characters that, escaped, are literals: syntax characters, `/` and `-`.
const ESCAPED: &str = "^$\\.*+?()[]{}|/-";

impl Parser<'_> {
    /// Terms up to the end of the group at `depth` (or of the pattern).
    fn sequence(&mut self, depth: usize) -> Option<()> {
        loop {
            let class = match self.chars.next() {
                None => return (depth == 0).then_some(()),
                Some(')') => return (depth > 0).then_some(()),
                Some('$') => {
                    self.to_end = true;
                    return (depth == 0 && self.chars.next().is_none()).then_some(());
                }
                Some('(') => {
                    self.group(depth)?;
                    continue;
                }
                Some('[') => self.class()?,
                Some('\\') => escape(self.chars.next()?, ESCAPED)?,
                Some(c) if c.is_ascii() && !"^|.*+?{}]".contains(c) => 1u128 << c as u32,
                Some(_) => return None,
            };
            self.quantified(class)?;
        }
    }

    /// A group, its `(` read: `(?:` or capturing, without a quantifier.
    fn group(&mut self, depth: usize) -> Option<()> {
        if self.chars.next_if_eq(&'?').is_some() {
            self.chars.next_if_eq(&':')?;
        }
        self.sequence(depth + 1)?;
        match self.chars.peek() {
            Some('*' | '+' | '?' | '{') => None,
            _ => Some(()),
        }
    }

    /// A class, its `[` read: literals, escapes and ranges, not negated.
    fn class(&mut self) -> Option<u128> {
        let mut set = 0u128;
        if matches!(self.chars.peek(), Some('^' | ']')) {
            return None;
        }
        loop {
            let c = match self.chars.next()? {
                ']' => return Some(set),
                '\\' => match self.chars.next()? {
                    letter @ ('d' | 'w') => {
                        // `[\w-x]`: a range from a set; ECMAScript reads the
                        // `-` as a literal there, this keeps `regress`.
                        let mut ahead = self.chars.clone();
                        if ahead.next() == Some('-') && !matches!(ahead.peek(), Some(']')) {
                            return None;
                        }
                        set |= escape(letter, "")?;
                        continue;
                    }
                    c if ESCAPED.contains(c) => c,
                    _ => return None,
                },
                c if c.is_ascii() => c,
                _ => return None,
            };
            set |= self.range_from(c)?;
        }
    }

    /// `c`, or the range `c-d` if a `-` and a literal follow.
    fn range_from(&mut self, c: char) -> Option<u128> {
        let mut ahead = self.chars.clone();
        if ahead.next() != Some('-') || matches!(ahead.peek(), Some(']') | None) {
            return Some(1u128 << c as u32);
        }
        self.chars = ahead;
        let d = match self.chars.next()? {
            '\\' => self.chars.next().filter(|d| ESCAPED.contains(*d))?,
            d if d.is_ascii() => d,
            _ => return None,
        };
        (c <= d).then(|| (c as u32..=d as u32).fold(0, |set, b| set | 1u128 << b))
    }

    /// The quantifier after an atom (if any), and the atom's positions.
    fn quantified(&mut self, class: u128) -> Option<()> {
        let (min, max) = match self.chars.peek() {
            Some('?') => (0, Some(1)),
            Some('*') => (0, None),
            Some('+') => (1, None),
            Some('{') => {
                self.chars.next();
                let bounds = self.bounds()?;
                self.push(class, bounds)?;
                self.chars.next_if_eq(&'?');
                return Some(());
            }
            _ => (1, Some(1)),
        };
        if (min, max) != (1, Some(1)) {
            self.chars.next();
            self.chars.next_if_eq(&'?');
        }
        self.push(class, (min, max))
    }

    /// `n}`, `n,}` or `n,m}`, the `{` read.
    fn bounds(&mut self) -> Option<(usize, Option<usize>)> {
        let min = self.number()?;
        let max = match self.chars.next()? {
            '}' => return Some((min, Some(min))),
            ',' if self.chars.peek() == Some(&'}') => None,
            ',' => Some(self.number()?),
            _ => return None,
        };
        (self.chars.next()? == '}' && max.is_none_or(|max| min <= max)).then_some((min, max))
    }

    /// A decimal number of at most four digits.
    fn number(&mut self) -> Option<usize> {
        let mut digits = String::new();
        while let Some(d) = self.chars.next_if(char::is_ascii_digit) {
            digits.push(d);
        }
        (1..=4)
            .contains(&digits.len())
            .then(|| digits.parse().ok())?
    }

    /// `class` `min` times, then up to `max` (any number if `None`).
    fn push(&mut self, class: u128, (min, max): (usize, Option<usize>)) -> Option<()> {
        let optional = max.map_or(0, |max| max - min);
        let any = usize::from(max.is_none());
        if self.slots.len() + min + optional + any > MAX_SLOTS {
            return None;
        }
        let slot = |repeat| Slot { class, repeat };
        self.slots
            .extend(std::iter::repeat_n(slot(Repeat::One), min));
        self.slots
            .extend(std::iter::repeat_n(slot(Repeat::Optional), optional));
        self.slots
            .extend(std::iter::repeat_n(slot(Repeat::Any), any));
        Some(())
    }
}

/// The set of an escape `\c` outside a class (`\d`, `\w`, or a character
/// of `literals`).
fn escape(c: char, literals: &str) -> Option<u128> {
    let range = |a: u8, b: u8| (a..=b).fold(0u128, |set, c| set | 1 << c);
    match c {
        'd' => Some(range(b'0', b'9')),
        'w' => Some(range(b'0', b'9') | range(b'A', b'Z') | range(b'a', b'z') | 1 << b'_'),
        c if literals.contains(c) => Some(1u128 << c as u32),
        _ => None,
    }
}
