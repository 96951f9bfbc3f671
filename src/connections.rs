//! The operations on the connections that exist: read one, list them (a
//! page at a time, or all of them as a stream), update one, delete one.
//!
//! Each is one call through the same machinery as a create (the plan, the
//! call's span and timeout, the version table, the path checks), and each
//! is safe to send again, so the client also retries it after a `5xx` or a
//! connection failure, not only after throttling.

use std::collections::VecDeque;
use std::num::NonZeroU64;
use std::pin::Pin;
use std::str::FromStr;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use progenitor_client::ResponseValue;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use crate::client::{CallOptions, Client};
use crate::error::Error;
use crate::path::encode_segment;
use crate::response::ApiResponse;
use crate::types::error::ConversionError;
use crate::types::{PaginatedApiStreamsConnectionView, StreamsConnection};

/// The most connections Atlas returns in one page (the spec's maximum of
/// `itemsPerPage`): [`Client::list_stream_connections`] asks for pages
/// this large, so that listing takes as few calls as it can.
pub const MAX_ITEMS_PER_PAGE: u64 = 500;

/// Which page of connections to ask for. Pages are numbered from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// The page's number, from 1.
    pub number: NonZeroU64,
    /// How many connections a page holds (Atlas takes 1 to
    /// [`MAX_ITEMS_PER_PAGE`]).
    pub items_per_page: NonZeroU64,
}

impl Page {
    /// Page `number` (from 1) of pages of `items_per_page` connections.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for a `number` of 0, or an `items_per_page`
    /// of 0 or over [`MAX_ITEMS_PER_PAGE`].
    pub fn new(number: u64, items_per_page: u64) -> Result<Self, Error> {
        let number = NonZeroU64::new(number)
            .ok_or_else(|| Error::invalid("pageNum", "pages are numbered from 1"))?;
        let items_per_page = NonZeroU64::new(items_per_page)
            .filter(|n| n.get() <= MAX_ITEMS_PER_PAGE)
            .ok_or_else(|| {
                Error::invalid(
                    "itemsPerPage",
                    format!("`{items_per_page}` is not from 1 to {MAX_ITEMS_PER_PAGE}"),
                )
            })?;
        Ok(Self {
            number,
            items_per_page,
        })
    }
}

impl Default for Page {
    /// The first page of [`MAX_ITEMS_PER_PAGE`] connections.
    fn default() -> Self {
        Self {
            number: NonZeroU64::MIN,
            items_per_page: NonZeroU64::new(MAX_ITEMS_PER_PAGE).unwrap_or(NonZeroU64::MIN),
        }
    }
}

/// `value` as a path segment of a request (an instance's or a connection's
/// name), or why it cannot be one. Checked before any I/O.
pub(crate) fn check_segment(parameter: &'static str, value: &str) -> Result<(), Error> {
    if value.is_empty() {
        return Err(Error::invalid(parameter, "must not be empty"));
    }
    if matches!(value, "." | "..") {
        // URL parsing would resolve them as dot segments and send the
        // request to another endpoint.
        return Err(Error::invalid(
            parameter,
            format!("`{value}` cannot be sent as a path segment"),
        ));
    }
    Ok(())
}

/// `group_id` checked against the spec's pattern as the project id type
/// of one operation's generated method (each operation has its own).
pub(crate) fn project_id<T: FromStr<Err = ConversionError>>(group_id: &str) -> Result<T, Error> {
    group_id
        .parse()
        .map_err(|e| Error::invalid("groupId", format!("`{group_id}`: {e}")))
}

impl Client {
    /// The connection `connection_name` of the instance `tenant_name` of
    /// project `group_id`, as Atlas holds it (write-only fields, such as
    /// passwords, are never returned).
    ///
    /// # Errors
    ///
    /// Those of [`create_stream_connection`](Self::create_stream_connection);
    /// a connection that does not exist is an [`Error::Api`] with status
    /// `404` (Atlas's code `STREAM_CONNECTION_NOT_FOUND_FOR_NAME`), and an
    /// empty `connection_name`, or `.` or `..`, an [`Error::InvalidInput`].
    pub async fn get_stream_connection(
        &self,
        group_id: &str,
        tenant_name: &str,
        connection_name: &str,
    ) -> Result<StreamsConnection, Error> {
        self.get_stream_connection_with(group_id, tenant_name, connection_name, &CallOptions::new())
            .await
            .map(ApiResponse::into_inner)
    }

    /// [`get_stream_connection`](Self::get_stream_connection) with per-call
    /// options (`pretty` has no effect: the operation does not take it).
    ///
    /// # Errors
    ///
    /// Those of [`get_stream_connection`](Self::get_stream_connection).
    pub async fn get_stream_connection_with(
        &self,
        group_id: &str,
        tenant_name: &str,
        connection_name: &str,
        options: &CallOptions,
    ) -> Result<ApiResponse<StreamsConnection>, Error> {
        let group_id = project_id(group_id)?;
        check_segment("tenantName", tenant_name)?;
        check_segment("connectionName", connection_name)?;
        let plan = self.plan("get_stream_connection", options)?;
        let call = Box::pin(async move {
            self.generated()
                .get_stream_connection(
                    &group_id,
                    tenant_name,
                    connection_name,
                    options.envelope.then_some(true),
                )
                .await
        });
        self.run_planned(plan, call).await
    }

    /// One page of the connections of the instance `tenant_name` of project
    /// `group_id`, with Atlas's `totalCount` (an estimate, Atlas says).
    ///
    /// # Errors
    ///
    /// Those of [`get_stream_connection`](Self::get_stream_connection); an
    /// instance that does not exist is an [`Error::Api`] with status `404`.
    pub async fn list_stream_connections_page(
        &self,
        group_id: &str,
        tenant_name: &str,
        page: Page,
    ) -> Result<PaginatedApiStreamsConnectionView, Error> {
        self.list_stream_connections_page_with(group_id, tenant_name, page, &CallOptions::new())
            .await
            .map(ApiResponse::into_inner)
    }

    /// [`list_stream_connections_page`](Self::list_stream_connections_page)
    /// with per-call options.
    ///
    /// # Errors
    ///
    /// Those of
    /// [`list_stream_connections_page`](Self::list_stream_connections_page).
    pub async fn list_stream_connections_page_with(
        &self,
        group_id: &str,
        tenant_name: &str,
        page: Page,
        options: &CallOptions,
    ) -> Result<ApiResponse<PaginatedApiStreamsConnectionView>, Error> {
        let group_id = project_id(group_id)?;
        check_segment("tenantName", tenant_name)?;
        let plan = self.plan("list_stream_connections", options)?;
        let call = Box::pin(async move {
            self.generated()
                .list_stream_connections(
                    &group_id,
                    tenant_name,
                    options.envelope.then_some(true),
                    Some(page.items_per_page),
                    Some(page.number),
                    options.pretty.then_some(true),
                )
                .await
        });
        self.run_planned(plan, call).await
    }

    /// Every connection of the instance `tenant_name` of project
    /// `group_id`, as a stream that asks Atlas for the next page (of
    /// [`MAX_ITEMS_PER_PAGE`]) when the previous one is used up. Only one
    /// page is held at a time.
    ///
    /// The stream ends after a page that is not full. An error ends it
    /// too, after being yielded; so does a page that repeats the previous
    /// one (a server that ignores `pageNum` would otherwise be listed
    /// forever), as an [`Error::Decode`].
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use atlas_stream_connections::local_atlas::LocalAtlas;
    /// use atlas_stream_connections::{Client, types};
    ///
    /// let atlas = LocalAtlas::start().await?;
    /// let (public, private) = atlas.api_key();
    /// let client = Client::builder()
    ///     .base_url(atlas.base_url())
    ///     .api_key(public, private.clone())
    ///     .build()?;
    /// let project = "32b6e34b3d91647abb20e7b8";
    /// for name in ["solar", "lunar"] {
    ///     let sample = types::StreamsSampleConnection {
    ///         name: Some(format!("sample_stream_{name}")),
    ///         ..Default::default()
    ///     };
    ///     client.create_stream_connection(project, "my-instance", &sample.into()).await?;
    /// }
    /// let mut listing = client.list_stream_connections(project, "my-instance");
    /// while let Some(connection) = listing.next().await {
    ///     println!("{:?}", connection?.name());
    /// }
    /// // Or all at once:
    /// let all = client.list_stream_connections(project, "my-instance").try_collect().await?;
    /// assert_eq!(all.len(), 2);
    /// # Ok(())
    /// # }
    /// ```
    pub fn list_stream_connections(&self, group_id: &str, tenant_name: &str) -> ConnectionStream {
        let listing = Listing {
            client: self.clone(),
            group_id: group_id.to_owned(),
            tenant_name: tenant_name.to_owned(),
            page: Some(Page::default()),
            buffered: VecDeque::new(),
            previous: None,
        };
        ConnectionStream {
            inner: Box::pin(futures_util::stream::unfold(listing, Listing::next)),
        }
    }

    /// Replaces the connection `connection_name` of the instance
    /// `tenant_name` of project `group_id` with `connection` (Atlas takes
    /// the whole connection, not a patch of it), and returns it as Atlas
    /// stored it. Write-only fields (passwords) that `connection` holds are
    /// sent; what Atlas does with one left out is not documented.
    ///
    /// # Errors
    ///
    /// Those of [`get_stream_connection`](Self::get_stream_connection);
    /// Atlas answers `400` for a connection it does not accept (another
    /// kind than the stored one among them), `404` for one that does not
    /// exist, `409` for one it is still deploying.
    pub async fn update_stream_connection(
        &self,
        group_id: &str,
        tenant_name: &str,
        connection_name: &str,
        connection: &StreamsConnection,
    ) -> Result<StreamsConnection, Error> {
        self.update_stream_connection_with(
            group_id,
            tenant_name,
            connection_name,
            connection,
            &CallOptions::new(),
        )
        .await
        .map(ApiResponse::into_inner)
    }

    /// [`update_stream_connection`](Self::update_stream_connection) with
    /// per-call options.
    ///
    /// # Errors
    ///
    /// Those of [`update_stream_connection`](Self::update_stream_connection).
    pub async fn update_stream_connection_with(
        &self,
        group_id: &str,
        tenant_name: &str,
        connection_name: &str,
        connection: &StreamsConnection,
        options: &CallOptions,
    ) -> Result<ApiResponse<StreamsConnection>, Error> {
        let group_id = project_id(group_id)?;
        check_segment("tenantName", tenant_name)?;
        check_segment("connectionName", connection_name)?;
        let plan = self.plan("update_stream_connection", options)?;
        let call = Box::pin(async move {
            self.generated()
                .update_stream_connection(
                    &group_id,
                    tenant_name,
                    connection_name,
                    options.envelope.then_some(true),
                    options.pretty.then_some(true),
                    connection,
                )
                .await
        });
        self.run_planned(plan, call).await
    }

    /// Deletes the connection `connection_name` of the instance
    /// `tenant_name` of project `group_id`. Atlas accepts the deletion
    /// (`202`) and may finish it later: the connection can still be read,
    /// in state `DELETING`, for a while.
    /// [`delete_stream_connection_and_wait`](Self::delete_stream_connection_and_wait)
    /// waits until it is gone.
    ///
    /// # Errors
    ///
    /// Those of [`get_stream_connection`](Self::get_stream_connection); a
    /// connection that does not exist is an [`Error::Api`] with status
    /// `404` (also when an earlier attempt of this call, whose answer was
    /// lost, deleted it: the client sends a delete again after a connection
    /// failure), and one Atlas is still deploying a `409`
    /// (`STREAM_KAFKA_CONNECTION_IS_DEPLOYING`).
    pub async fn delete_stream_connection(
        &self,
        group_id: &str,
        tenant_name: &str,
        connection_name: &str,
    ) -> Result<(), Error> {
        self.delete_stream_connection_with(
            group_id,
            tenant_name,
            connection_name,
            &CallOptions::new(),
        )
        .await
        .map(ApiResponse::into_inner)
    }

    /// [`delete_stream_connection`](Self::delete_stream_connection) with
    /// per-call options.
    ///
    /// # Errors
    ///
    /// Those of [`delete_stream_connection`](Self::delete_stream_connection).
    pub async fn delete_stream_connection_with(
        &self,
        group_id: &str,
        tenant_name: &str,
        connection_name: &str,
        options: &CallOptions,
    ) -> Result<ApiResponse<()>, Error> {
        let group_id = project_id(group_id)?;
        check_segment("tenantName", tenant_name)?;
        check_segment("connectionName", connection_name)?;
        let plan = self.plan("delete_stream_connection", options)?;
        let call = Box::pin(async move {
            // The answer has no content to decode; a body, if any, was
            // read within the response limit (or not at all, when its
            // length was announced) and is dropped here.
            self.generated()
                .delete_stream_connection(
                    &group_id,
                    tenant_name,
                    connection_name,
                    options.envelope.then_some(true),
                    options.pretty.then_some(true),
                )
                .await
                .map(|response| {
                    let (status, headers) = (response.status(), response.headers().clone());
                    ResponseValue::new((), status, headers)
                })
        });
        self.run_planned(plan, call).await
    }
}

/// Every connection of an instance, a page at a time: see
/// [`Client::list_stream_connections`]. A [`Stream`], and, for code that
/// uses no stream combinators, [`next`](Self::next) and
/// [`try_collect`](Self::try_collect) of its own.
pub struct ConnectionStream {
    inner: Pin<Box<dyn Stream<Item = Result<StreamsConnection, Error>> + Send>>,
}

impl ConnectionStream {
    /// The next connection; `None` after the last one, or after an error.
    pub async fn next(&mut self) -> Option<Result<StreamsConnection, Error>> {
        futures_util::StreamExt::next(&mut self.inner).await
    }

    /// All the connections (or the first error).
    ///
    /// # Errors
    ///
    /// The first error of the listing: see
    /// [`list_stream_connections_page`](Client::list_stream_connections_page).
    pub async fn try_collect(self) -> Result<Vec<StreamsConnection>, Error> {
        futures_util::TryStreamExt::try_collect(self.inner).await
    }
}

impl Stream for ConnectionStream {
    type Item = Result<StreamsConnection, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

impl std::fmt::Debug for ConnectionStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionStream").finish_non_exhaustive()
    }
}

/// Where [`Client::list_stream_connections`] is.
struct Listing {
    client: Client,
    group_id: String,
    tenant_name: String,
    /// The page to ask for when `buffered` is used up; `None` after the
    /// last one.
    page: Option<Page>,
    buffered: VecDeque<StreamsConnection>,
    /// The previous page, to tell a server that repeats it.
    previous: Option<Vec<StreamsConnection>>,
}

impl Listing {
    async fn next(mut self) -> Option<(Result<StreamsConnection, Error>, Self)> {
        loop {
            if let Some(connection) = self.buffered.pop_front() {
                return Some((Ok(connection), self));
            }
            let page = self.page.take()?;
            let fetched = self
                .client
                .list_stream_connections_page(&self.group_id, &self.tenant_name, page)
                .await;
            let view = match fetched {
                Ok(view) => view,
                Err(error) => return Some((Err(error), self)),
            };
            let results = view.results;
            let path = || {
                format!(
                    "/api/atlas/v2/groups/{}/streams/{}/connections",
                    encode_segment(&self.group_id),
                    encode_segment(&self.tenant_name)
                )
            };
            // A first page without connections where Atlas counts some
            // (its `results` missing, say) would end the listing as empty.
            if let (true, 1, Some(total @ 1..)) =
                (results.is_empty(), page.number.get(), view.total_count)
            {
                let message = format!("page 1 holds no connection, but `totalCount` says {total}");
                let error = Error::decode(
                    "GET".into(),
                    path(),
                    Some(StatusCode::OK),
                    &HeaderMap::new(),
                    Bytes::new(),
                    message,
                );
                return Some((Err(error), self));
            }
            if self.previous.as_ref() == Some(&results) && !results.is_empty() {
                let message = format!(
                    "page {} repeats page {}: the server does not page by `pageNum`; listing \
                     stopped",
                    page.number,
                    page.number.get() - 1
                );
                let error = Error::decode(
                    "GET".into(),
                    path(),
                    Some(StatusCode::OK),
                    &HeaderMap::new(),
                    Bytes::new(),
                    message,
                );
                return Some((Err(error), self));
            }
            let full = results.len() as u64 >= page.items_per_page.get();
            self.page = full
                .then(|| page.number.checked_add(1))
                .flatten()
                .map(|number| Page { number, ..page });
            self.buffered = results.iter().cloned().collect();
            self.previous = Some(results);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_page_is_the_specs_maximum() {
        let spec: serde_json::Value =
            serde_json::from_str(include_str!("../spec/openapi.json")).unwrap();
        let schema = &spec["components"]["parameters"]["itemsPerPage"]["schema"];
        assert_eq!(schema["maximum"], MAX_ITEMS_PER_PAGE);
        assert_eq!(schema["minimum"], 1);
        assert_eq!(Page::default().items_per_page.get(), MAX_ITEMS_PER_PAGE);
        assert_eq!(Page::default().number.get(), 1);
    }

    #[test]
    fn a_page_is_checked_before_any_io() {
        let page = Page::new(3, 500).unwrap();
        assert_eq!((page.number.get(), page.items_per_page.get()), (3, 500));
        assert_eq!(Page::new(1, 1).unwrap().items_per_page.get(), 1);
        for (number, size, parameter) in [
            (0, 10, "pageNum"),
            (1, 0, "itemsPerPage"),
            (1, 501, "itemsPerPage"),
        ] {
            match Page::new(number, size) {
                Err(Error::InvalidInput { parameter: p, .. }) => assert_eq!(p, parameter),
                other => panic!("{number}/{size}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_segment_must_be_one() {
        assert!(check_segment("connectionName", "a/b\\c").is_ok());
        for bad in ["", ".", ".."] {
            assert!(matches!(
                check_segment("connectionName", bad),
                Err(Error::InvalidInput {
                    parameter: "connectionName",
                    ..
                })
            ));
        }
    }
}
