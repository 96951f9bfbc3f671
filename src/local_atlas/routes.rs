//! The route table, read from the embedded spec's `paths`: each path
//! template and method to the operation it is, the operation's versions
//! (from the crate's version table, by the spec's name for it) and whether
//! it takes a body. Routing, version negotiation, path-parameter checks and
//! the recording of bodies all read this one table, so an operation the spec
//! gains is routed the same way as the others.

use http::Method;
use serde_json::Value;

use crate::OperationVersions;

/// What an operation does to the connections of an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    Create,
    List,
    Get,
    Update,
    Delete,
}

impl Operation {
    /// The operation the spec names `name` (its `x-xgen-operation-id-override`,
    /// the Atlas CLI's name, else its `operationId`), if the double serves it.
    fn named(name: &str) -> Option<Self> {
        Some(match name {
            "createStreamConnection" => Self::Create,
            "listStreamConnections" => Self::List,
            "getStreamConnection" => Self::Get,
            "updateStreamConnection" => Self::Update,
            "deleteStreamConnection" => Self::Delete,
            _ => return None,
        })
    }

    const ALL: [Self; 5] = [
        Self::Create,
        Self::List,
        Self::Get,
        Self::Update,
        Self::Delete,
    ];
}

/// One segment of a path template.
#[derive(Debug, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Parameter(String),
}

/// One operation of the spec.
pub(crate) struct Route {
    /// The path template, as the spec's `paths` key.
    pub template: String,
    segments: Vec<Segment>,
    pub method: Method,
    /// The method as the spec's key (`post`).
    pub spec_method: String,
    pub operation: Operation,
    pub versions: &'static OperationVersions,
    /// Whether the operation takes a body (`requestBody`).
    pub has_body: bool,
}

/// A path matched against the table.
pub(crate) enum Matched<'a> {
    /// No template has this path.
    Nowhere,
    /// A template has it, not with this method: the methods it has.
    OtherMethods(Vec<&'a Method>),
    /// The route and its path parameters as sent (still percent-encoded).
    Route(&'a Route, Vec<(&'a str, &'a str)>),
}

pub(crate) struct Routes(Vec<Route>);

impl Routes {
    /// The table of `spec`'s operations the double serves. `Err` says which
    /// is missing, from the spec or the version table: a defect of the
    /// build.
    pub fn from_spec(spec: &Value) -> Result<Self, String> {
        let paths = spec
            .get("paths")
            .and_then(Value::as_object)
            .ok_or("the embedded spec has no paths")?;
        let mut routes = Vec::new();
        for (template, operations) in paths {
            let Some(operations) = operations.as_object() else {
                continue;
            };
            for (spec_method, operation) in operations {
                let Ok(method) = spec_method.to_ascii_uppercase().parse::<Method>() else {
                    continue;
                };
                let name = operation
                    .get("x-xgen-operation-id-override")
                    .or_else(|| operation.get("operationId"))
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let Some(kind) = Operation::named(name) else {
                    continue;
                };
                let versions = crate::versions_of(name)
                    .ok_or_else(|| format!("the version table lacks {name}"))?;
                routes.push(Route {
                    segments: segments(template),
                    template: template.clone(),
                    method,
                    spec_method: spec_method.clone(),
                    operation: kind,
                    versions,
                    has_body: operation.get("requestBody").is_some(),
                });
            }
        }
        for kind in Operation::ALL {
            if !routes.iter().any(|r| r.operation == kind) {
                return Err(format!("the embedded spec lacks the {kind:?} operation"));
            }
        }
        Ok(Self(routes))
    }

    /// The routes, in the spec's order.
    pub fn iter(&self) -> impl Iterator<Item = &Route> {
        self.0.iter()
    }

    /// The route of `method` on `path` (as sent: its parameters are still
    /// percent-encoded, so an encoded `/` stays inside its segment).
    pub fn find<'a>(&'a self, method: &Method, path: &'a str) -> Matched<'a> {
        let mut methods = Vec::new();
        for route in &self.0 {
            let Some(parameters) = route.parameters(path) else {
                continue;
            };
            if route.method == *method {
                return Matched::Route(route, parameters);
            }
            methods.push(&route.method);
        }
        if methods.is_empty() {
            Matched::Nowhere
        } else {
            Matched::OtherMethods(methods)
        }
    }
}

impl Route {
    /// The path parameters of `path` if it has this template: each
    /// parameter a whole, non-empty segment.
    fn parameters<'a>(&'a self, path: &'a str) -> Option<Vec<(&'a str, &'a str)>> {
        let sent: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
        if sent.len() != self.segments.len() {
            return None;
        }
        let mut parameters = Vec::new();
        for (segment, value) in self.segments.iter().zip(sent) {
            match segment {
                Segment::Literal(literal) if literal == value => {}
                Segment::Parameter(name) if !value.is_empty() => {
                    parameters.push((name.as_str(), value));
                }
                _ => return None,
            }
        }
        Some(parameters)
    }
}

fn segments(template: &str) -> Vec<Segment> {
    template
        .trim_start_matches('/')
        .split('/')
        .map(
            |segment| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => Segment::Parameter(name.to_owned()),
                None => Segment::Literal(segment.to_owned()),
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes() -> Routes {
        let spec: Value = serde_json::from_str(include_str!("../../spec/openapi.json")).unwrap();
        Routes::from_spec(&spec).unwrap()
    }

    #[test]
    fn every_operation_is_routed_by_path_and_method() {
        let routes = routes();
        let collection = "/api/atlas/v2/groups/g/streams/t%20x/connections";
        let one = "/api/atlas/v2/groups/g/streams/t/connections/c%2Fd";
        for (method, path, operation) in [
            (Method::POST, collection, Operation::Create),
            (Method::GET, collection, Operation::List),
            (Method::GET, one, Operation::Get),
            (Method::PATCH, one, Operation::Update),
            (Method::DELETE, one, Operation::Delete),
        ] {
            let Matched::Route(route, _) = routes.find(&method, path) else {
                panic!("{method} {path} not routed");
            };
            assert_eq!(route.operation, operation);
        }
        let Matched::Route(_, parameters) = routes.find(&Method::GET, one) else {
            panic!("not routed");
        };
        assert_eq!(
            parameters,
            [
                ("groupId", "g"),
                ("tenantName", "t"),
                ("connectionName", "c%2Fd")
            ]
        );
    }

    #[test]
    fn a_spec_without_one_of_the_operations_is_refused() {
        let mut spec: Value =
            serde_json::from_str(include_str!("../../spec/openapi.json")).unwrap();
        let one =
            "/api/atlas/v2/groups/{groupId}/streams/{tenantName}/connections/{connectionName}";
        spec["paths"][one].as_object_mut().unwrap().remove("patch");
        let refused = Routes::from_spec(&spec).err().unwrap();
        assert!(refused.contains("Update"), "{refused}");
    }

    #[test]
    fn another_method_or_path_is_told_apart() {
        let routes = routes();
        let Matched::OtherMethods(methods) =
            routes.find(&Method::PUT, "/api/atlas/v2/groups/g/streams/t/connections")
        else {
            panic!("the path is known");
        };
        let mut methods: Vec<&str> = methods.iter().map(|m| m.as_str()).collect();
        methods.sort_unstable();
        assert_eq!(methods, ["GET", "POST"]);
        for path in [
            "/api/atlas/v2/groups/g/streams//connections",
            "/api/atlas/v2/groups/g/streams/t/connections/",
            "/api/atlas/v2/groups/g/streams/t/connections/c/d",
            "/api/atlas/v2/groups/g/streams/t/other",
        ] {
            assert!(
                matches!(routes.find(&Method::GET, path), Matched::Nowhere),
                "{path}"
            );
        }
    }
}
