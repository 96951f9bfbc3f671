//! The table of API versions per operation, for the handwritten layer's
//! `Accept` and `Content-Type` headers.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::preprocess::OperationVersions;

fn option(value: &Option<String>) -> TokenStream {
    match value {
        Some(v) => quote!(::std::option::Option::Some(#v)),
        None => quote!(::std::option::Option::None),
    }
}

pub fn generate(operations: &[OperationVersions], crate_ident: &str) -> TokenStream {
    let krate = format_ident!("{}", crate_ident);
    let entries = operations.iter().map(|op| {
        let operation_id = &op.operation_id;
        let name = &op.name;
        let method = &op.method;
        let path = &op.path;
        let generated = option(&op.generated);
        let versions = op.versions.iter().map(|v| {
            let version = &v.version;
            let request = option(&v.request_media_type);
            let response = option(&v.response_media_type);
            let typed = v.typed;
            let method = if typed {
                op.operation_id.clone()
            } else {
                format!("{}_{}", op.operation_id, super::variants::suffix(version))
            };
            quote! {
                ::#krate::ApiVersion {
                    version: #version,
                    request_media_type: #request,
                    response_media_type: #response,
                    typed: #typed,
                    method: #method,
                }
            }
        });
        quote! {
            ::#krate::OperationVersions {
                operation_id: #operation_id,
                name: #name,
                method: #method,
                path: #path,
                generated: #generated,
                versions: &[#(#versions),*],
            }
        }
    });
    quote! {
        /// The API versions each operation declares through its media types,
        /// oldest first.
        pub static OPERATION_VERSIONS: &[::#krate::OperationVersions] = &[#(#entries),*];
    }
}
