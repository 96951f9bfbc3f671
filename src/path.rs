//! Path parameters as URL path segments.
//!
//! The generated client builds each request URL as text and has it parsed;
//! URL parsing reads `\` as `/` in `http(s)` URLs and resolves `.`, `..`,
//! `%2e` and `%2E` segments, so a parameter that is not encoded completely
//! can move the request, its credentials and its body to another endpoint.
//! Every byte outside RFC 3986's *unreserved* set is percent-encoded here,
//! whatever the generator would encode (the build points the generated
//! client at [`encode_segment`], then has it format each parameter through
//! [`Segment`] straight into the URL's path); `call::pre` then checks that
//! the parsed path still has the operation's segments, which catches `.`
//! and `..`.

use std::fmt;

/// Whether `byte` stays as it is in a segment: RFC 3986's unreserved set.
fn unreserved(byte: u8) -> bool {
    UNRESERVED[usize::from(byte)]
}

/// [`unreserved`] as a table: one load a byte, for every byte of every
/// path parameter of every call.
const UNRESERVED: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        let b = byte as u8;
        table[byte] = b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
        byte += 1;
    }
    table
};

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// `value` as one path segment: every byte but `A-Z a-z 0-9 - . _ ~`
/// percent-encoded (UTF-8, upper-case hex), so the segment decodes back to
/// exactly `value` and holds no `/`, `\`, `?`, `#` or `%` of its own.
// The client encodes through `Segment` as it formats; this whole-string form
// is the local Atlas's (its `links`) and the tests' reference.
#[cfg_attr(not(feature = "local-atlas"), allow(dead_code))]
pub(crate) fn encode_segment(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for &byte in value.as_bytes() {
        if unreserved(byte) {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
    }
    out
}

/// A path parameter as one segment, encoded as [`encode_segment`] encodes
/// its `Display` text, written as it is formatted: the generated client
/// formats its path with these, so a parameter is neither turned into a
/// `String` nor copied once more to be encoded.
pub(crate) struct Segment<'a, T: ?Sized>(pub &'a T);

/// `parameter.as_segment()`: a method, so that it finds the parameter's
/// `Display` through `Deref` exactly as the `parameter.to_string()` it
/// replaces did (a constrained string's newtype has none of its own and
/// derefs to `String`).
pub(crate) trait AsSegment: fmt::Display {
    fn as_segment(&self) -> Segment<'_, Self> {
        Segment(self)
    }
}

impl<T: fmt::Display + ?Sized> AsSegment for T {}

impl<T: fmt::Display + ?Sized> fmt::Display for Segment<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::write(&mut Encoding(f), format_args!("{}", self.0))
    }
}

/// Percent-encodes what is written through it into the formatter.
struct Encoding<'a, 'b>(&'a mut fmt::Formatter<'b>);

impl fmt::Write for Encoding<'_, '_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let mut rest = text.as_bytes();
        while !rest.is_empty() {
            // The unreserved bytes before the next one to encode, in one
            // write (ASCII, so a valid `str`).
            let plain = rest.iter().take_while(|&&b| unreserved(b)).count();
            let (run, after) = rest.split_at(plain);
            self.0
                .write_str(std::str::from_utf8(run).map_err(|_| fmt::Error)?)?;
            let Some((&byte, after)) = after.split_first() else {
                break;
            };
            let escaped = [
                b'%',
                HEX[usize::from(byte >> 4)],
                HEX[usize::from(byte & 0x0f)],
            ];
            self.0
                .write_str(std::str::from_utf8(&escaped).map_err(|_| fmt::Error)?)?;
            rest = after;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{Segment, encode_segment};

    /// The segment's bytes, percent-decoded.
    fn decode(segment: &str) -> Vec<u8> {
        let bytes = segment.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        out
    }

    /// Strings built from the characters that move URLs around, mixed with
    /// ordinary ones, by a fixed-seed generator (xorshift): the same cases
    /// on every run, and many of them.
    fn hostile_strings(count: usize) -> Vec<String> {
        const PIECES: &[&str] = &[
            "\\", "/", "%2e", "%2E", "%2f", "%5c", "%", "?", "#", "..", ".", "@", ":", ";", "&",
            "=", "+", " ", "\t", "\n", "\r", "\0", "\u{7f}", "\u{85}", "\u{2215}", "\u{ff0f}", "é",
            "名", "🦀", "a", "Z", "0", "-", "_", "~", "[", "]", "{", "}", "|", "^", "`", "'", "\"",
            "<", ">", "!", "$", "(", ")", "*", ",",
        ];
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        (0..count)
            .map(|_| {
                let len = 1 + (next() % 12) as usize;
                (0..len)
                    .map(|_| PIECES[(next() % PIECES.len() as u64) as usize])
                    .collect()
            })
            .collect()
    }

    #[test]
    fn only_unreserved_bytes_stay_as_they_are() {
        assert_eq!(
            encode_segment("sample-Instance_1.x~"),
            "sample-Instance_1.x~"
        );
        assert_eq!(encode_segment("a\\b"), "a%5Cb");
        assert_eq!(encode_segment("a/b?c#d%e f"), "a%2Fb%3Fc%23d%25e%20f");
        assert_eq!(encode_segment("é"), "%C3%A9");
        assert_eq!(encode_segment(""), "");
    }

    #[test]
    fn a_segment_written_in_pieces_is_encoded_as_its_whole_text() {
        struct Pieces;
        impl std::fmt::Display for Pieces {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "a/{}", 7)?;
                f.write_str("é b")
            }
        }
        assert_eq!(
            Segment(&Pieces).to_string(),
            encode_segment(&Pieces.to_string())
        );
        assert_eq!(Segment(&Pieces).to_string(), "a%2F7%C3%A9%20b");
        assert_eq!(Segment(&42u64).to_string(), "42");
    }

    /// The property: whatever the parameter, the parsed URL has the
    /// template's segments, and the parameter's segment decodes back to it.
    /// (`.` and `..` are the exception URL parsing makes; the client refuses
    /// them before building the URL, and `call::pre` checks the segments.)
    #[test]
    fn any_parameter_stays_one_segment_that_decodes_back() {
        let mut cases = hostile_strings(20_000);
        cases.extend(
            [
                "..\\..\\..\\..\\orgs\\X",
                "a\\b",
                "..\\",
                "%2e%2e",
                "%2E.",
                ".%2e",
                "?x",
                "#",
            ]
            .map(String::from),
        );
        for instance in cases {
            if instance == "." || instance == ".." {
                continue;
            }
            let url = format!(
                "https://cloud.mongodb.com/api/atlas/v2/groups/{}/streams/{}/connections",
                encode_segment("32b6e34b3d91647abb20e7b8"),
                encode_segment(&instance)
            );
            let parsed = reqwest::Url::parse(&url).unwrap();
            assert_eq!(parsed.host_str(), Some("cloud.mongodb.com"), "{instance:?}");
            assert_eq!(parsed.query(), None, "{instance:?}");
            assert_eq!(parsed.fragment(), None, "{instance:?}");
            let segments: Vec<&str> = parsed.path_segments().unwrap().collect();
            assert_eq!(segments.len(), 8, "{instance:?} gave {}", parsed.path());
            assert_eq!(segments[6], encode_segment(&instance), "{instance:?}");
            assert_eq!(decode(segments[6]), instance.as_bytes(), "{instance:?}");
            let formatted = Segment(instance.as_str()).to_string();
            assert_eq!(formatted, encode_segment(&instance), "{instance:?}");
            assert_eq!(segments[7], "connections");
        }
    }
}
