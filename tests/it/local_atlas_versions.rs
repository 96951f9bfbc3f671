//! The local Atlas resolves requested API versions as Atlas does, for
//! clients we did not write: a date that is not one of the operation's
//! versions is served by the newest version not after it (MongoDB's own
//! TypeScript client asks for `2025-03-12`), the answer's `Content-Type`
//! naming the version served; a date before every version, or one that is
//! no date, is refused saying why. Raw `reqwest` requests, as such a client
//! sends them.

use atlas_stream_connections::local_atlas::LocalAtlas;
use atlas_stream_connections::versions_of;
use serde_json::{Value, json};

use crate::support::{api_path, versioned};

/// What MongoDB's TypeScript Atlas client (npm
/// `@mongodb-js/mcp-atlas-api-client`) asks this operation for.
const TYPESCRIPT_CLIENT_ACCEPT: &str = "application/vnd.atlas.2025-03-12+json";

/// A local Atlas and a bearer token it issued.
async fn atlas_and_bearer() -> (LocalAtlas, String) {
    let atlas = LocalAtlas::start().await.unwrap();
    let token = crate::support::raw_token(&atlas).await;
    (atlas, format!("Bearer {token}"))
}

/// A create of a Sample connection named `name` with these `Accept` and
/// `Content-Type` headers: status, the answer's `Content-Type`, body.
async fn create(
    atlas: &LocalAtlas,
    bearer: &str,
    (accept, content_type): (&str, &str),
    name: &str,
) -> (u16, Option<String>, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}{}", atlas.base_url(), api_path()))
        .header("authorization", bearer)
        .header("accept", accept)
        .header("content-type", content_type)
        .body(json!({"type": "Sample", "name": name}).to_string())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let answered_as = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, answered_as, response.json().await.unwrap())
}

/// The media type of the version Atlas serves a request for `date` with:
/// the newest version of the operation not after it, from the version
/// table (so that it follows the spec at the next regen).
fn served_for(date: &str) -> &'static str {
    versions_of("createStreamConnection")
        .unwrap()
        .resolve_any(Some(date))
        .unwrap()
        .response_media_type
        .unwrap()
}

#[tokio::test]
async fn the_typescript_clients_later_date_is_served_by_the_newest_version_before_it() {
    let (atlas, bearer) = atlas_and_bearer().await;
    let resolved = served_for("2025-03-12");
    assert_ne!(resolved, TYPESCRIPT_CLIENT_ACCEPT, "no version of that day");
    for (i, content_type) in [TYPESCRIPT_CLIENT_ACCEPT, "application/json"]
        .into_iter()
        .enumerate()
    {
        let name = format!("ts-{i}");
        let headers = (TYPESCRIPT_CLIENT_ACCEPT, content_type);
        let (status, answered_as, body) = create(&atlas, &bearer, headers, &name).await;
        assert_eq!(status, 200, "{content_type}: {body}");
        assert_eq!(answered_as.as_deref(), Some(resolved), "{content_type}");
        assert_eq!(body["name"], name.as_str());
        assert_eq!(body["type"], "Sample");
    }
    assert_eq!(atlas.connections().len(), 2);
}

#[tokio::test]
async fn exact_and_later_dates_are_served_and_say_which_version() {
    let (atlas, bearer) = atlas_and_bearer().await;
    let default = versioned();
    let first = versions_of("createStreamConnection").unwrap().versions[0].version;
    let dates = [first, "2024-05-30", "2099-12-31"];
    for (i, date) in dates.into_iter().enumerate() {
        let accept = format!("application/vnd.atlas.{date}+json; charset=utf-8");
        let (status, answered_as, body) =
            create(&atlas, &bearer, (&accept, default), &format!("d{i}")).await;
        assert_eq!(status, 200, "{date}: {body}");
        assert_eq!(answered_as.as_deref(), Some(served_for(date)), "{date}");
    }
    // Among several ranges, the first that resolves is served.
    let accept =
        format!("text/html, application/vnd.atlas.2025-13-40+json, {TYPESCRIPT_CLIENT_ACCEPT}");
    let (status, answered_as, body) = create(&atlas, &bearer, (&accept, default), "mixed").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(answered_as.as_deref(), Some(served_for("2025-03-12")));
}

#[tokio::test]
async fn an_accept_of_no_date_or_an_early_one_is_a_406_saying_why() {
    let (atlas, bearer) = atlas_and_bearer().await;
    for (accept, why) in [
        (
            "application/vnd.atlas.2025-13-40+json",
            "`2025-13-40` is not an API version",
        ),
        (
            "application/vnd.atlas.2025-02-29+json",
            "`2025-02-29` is not an API version",
        ),
        (
            "application/vnd.atlas.2025-03-12junk+json",
            "`2025-03-12junk` is not an API version",
        ),
        (
            "application/vnd.atlas.2025-03-12+jsonjunk",
            "served as `application/vnd.atlas.",
        ),
        (
            "application/vnd.atlas.2025-03-12+csv",
            "served as `application/vnd.atlas.",
        ),
        (
            "application/vnd.atlas.2020-01-01+json",
            "no API version on or before `2020-01-01`",
        ),
        ("application/vnd.atlas.preview+json", "no preview version"),
        (
            "text/html",
            "asks for no media type this resource is served in",
        ),
    ] {
        let (status, _, error) = create(&atlas, &bearer, (accept, versioned()), "x").await;
        assert_eq!(status, 406, "{accept}: {error}");
        assert_eq!(error["errorCode"], "INVALID_VERSION_DATE", "{accept}");
        let detail = error["detail"].as_str().unwrap();
        assert!(
            detail.starts_with("Invalid accept header or version date: "),
            "{detail}"
        );
        assert!(detail.contains(why), "{accept}: {detail}");
    }
    assert!(atlas.connections().is_empty());
    // Refused by the operation, after authentication: calls all the same.
    assert_eq!(atlas.calls().len(), 8);
}

#[tokio::test]
async fn a_content_type_naming_a_version_that_does_not_resolve_is_a_415() {
    let (atlas, bearer) = atlas_and_bearer().await;
    for content_type in [
        "application/vnd.atlas.2025-02-30+json",
        "application/vnd.atlas.2025-03-12junk+json",
        "application/vnd.atlas.2020-01-01+json",
    ] {
        let headers = (TYPESCRIPT_CLIENT_ACCEPT, content_type);
        let (status, _, error) = create(&atlas, &bearer, headers, "x").await;
        assert_eq!(status, 415, "{content_type}: {error}");
        assert_eq!(error["errorCode"], "INVALID_VERSION_DATE");
        let detail = error["detail"].as_str().unwrap();
        assert!(
            detail.starts_with("Invalid content type or version date: "),
            "{detail}"
        );
    }
    assert!(atlas.connections().is_empty());
}
