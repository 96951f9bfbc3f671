//! What a discriminated union says about itself: whether a schema is one,
//! which property tells its kinds apart, and which unions stand above one
//! of its members. Hoisting (before the unions are named) and preprocessing
//! (when they become enums) both ask; they ask here.

use serde_json::{Map, Value};

/// A `oneOf` with a `discriminator`.
pub fn is_union(schema: &Map<String, Value>) -> bool {
    schema.contains_key("discriminator") && schema.contains_key("oneOf")
}

/// The property whose value tells the kinds apart
/// (`discriminator.propertyName`), when it is a string.
pub fn tag_property(schema: &Map<String, Value>) -> Option<&str> {
    schema.get("discriminator")?.get("propertyName")?.as_str()
}

/// The unions above the union `start`: those that hold it as a member, those
/// that hold them, up to the outermost, each once and never `start` itself.
/// `id` names a union as its members' lists do; `holds(union, id)` says
/// whether `union` has the union named `id` as a member.
pub fn ancestors<'u, U>(
    unions: &'u [U],
    start: &str,
    id: impl Fn(&U) -> &str,
    holds: impl Fn(&U, &str) -> bool,
) -> Vec<&'u U> {
    let mut found = Vec::new();
    let mut seen = vec![start];
    let mut frontier = vec![start];
    while let Some(current) = frontier.pop() {
        for parent in unions.iter().filter(|u| holds(u, current)) {
            if !seen.contains(&id(parent)) {
                seen.push(id(parent));
                frontier.push(id(parent));
                found.push(parent);
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ancestors_are_found_once_up_to_the_outermost() {
        // (name, members): C is a kind of B, B of A; A and C hold each other.
        let unions = [("A", vec!["B", "C"]), ("B", vec!["C"]), ("C", vec!["A"])];
        let names = |start| {
            ancestors(&unions, start, |u| u.0, |u, id| u.1.contains(&id))
                .into_iter()
                .map(|u| u.0)
                .collect::<Vec<_>>()
        };
        assert_eq!(names("C"), ["A", "B"]);
        assert_eq!(names("B"), ["A", "C"]);
        assert_eq!(names("A"), ["C", "B"]);
    }
}
