//! The OpenAPI document as served: the generated one, completed with what every operation
//! of a kind can answer (a malformed body, a missing token…) and with the limits the
//! settings impose on request fields, so that it describes this server as configured.

use serde_json::{Map, Value, json};
use utoipa::OpenApi;

use augure_app::Settings;
use augure_domain::consultation::EndReason;

/// The document `GET /api/v1/openapi.json` serves, for a server whose sites have these
/// codes.
pub fn document(settings: &Settings, site_codes: &[String]) -> Value {
    let mut doc = super::ApiDoc::openapi();
    doc.merge(super::profile::ProfileDoc::openapi());
    doc.merge(super::quote::QuoteDoc::openapi());
    doc.merge(super::notifications::NotificationsDoc::openapi());
    doc.merge(super::consultations::ConsultationsDoc::openapi());
    let mut doc = serde_json::to_value(doc).unwrap_or_else(|_| json!({}));
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut().filter_map(Value::as_object_mut) {
            for operation in item.values_mut().filter_map(Value::as_object_mut) {
                add_common_responses(operation);
                binary_bodies(operation);
                allow_empty(operation, &["max_price", "available", "page", "per_page"]);
                constrain_parameters(operation, site_codes);
            }
        }
    }
    if let Some(schemas) = doc.pointer_mut("/components/schemas").and_then(Value::as_object_mut) {
        apply_limits(schemas, settings);
        constrain(schemas, "SignUpRequest", "site", &json!({ "enum": nullable_enum(site_codes) }));
    }
    doc
}

fn problem(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/ProblemView" } } }
    })
}

/// The answers the framework and the extractors give whatever the operation.
fn add_common_responses(operation: &mut Map<String, Value>) {
    let has_body = operation.contains_key("requestBody");
    let params = operation.get("parameters").and_then(Value::as_array).cloned().unwrap_or_default();
    let has_params = !params.is_empty();
    let in_path = params.iter().any(|p| p.get("in").and_then(Value::as_str) == Some("path"));
    // Only an empty requirement (`{}`) makes a token optional.
    let security = operation.get("security").and_then(Value::as_array).cloned().unwrap_or_default();
    let needs_token = !security.is_empty();
    let Some(responses) = operation.get_mut("responses").and_then(Value::as_object_mut) else { return };
    let mut add = |status: &str, description: &str| {
        responses.entry(status).or_insert_with(|| problem(description));
    };
    if has_body {
        add("400", "The body is not well-formed JSON");
        add("413", "The body is too large");
        add("415", "The body is not declared as JSON");
        add("422", "A field is missing, unknown, of the wrong type or refused");
    }
    if has_params {
        add("400", "A parameter has the wrong type");
    }
    if in_path {
        add("404", "Nothing has this identifier");
    }
    if needs_token {
        add("401", "No token, or an unknown or expired one");
        add("403", "The caller's role may not do this");
    }
}

/// One line of text ([`augure_domain::check_line`]): no control character and, unless
/// empty, one visible character. Invisible characters outside the Basic Multilingual
/// Plane are left out: ECMA-262 patterns without the `u` flag cannot name them.
pub const LINE_PATTERN: &str = concat!(
    r"^(?:|[^\u0000-\u001f\u007f-\u009f]*",
    r"[^\s\u0000-\u001f\u007f-\u009f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f",
    r"\u200b-\u200f\u202a-\u202e\u2060-\u206f\u2800\u3164\uffa0\ufe00-\ufe0f\ufeff\ufff9-\ufffb]",
    r"[^\u0000-\u001f\u007f-\u009f]*)$"
);

/// Writes the settings' limits into the request schemas.
fn apply_limits(schemas: &mut Map<String, Value>, settings: &Settings) {
    let password = &settings.accounts.password;
    let password = json!({ "minLength": password.min_len, "maxLength": password.max_len });
    for schema in ["SignUpRequest", "ResetRequest"] {
        constrain(schemas, schema, "password", &password);
    }
    let name = json!({ "minLength": 1, "maxLength": augure_domain::DISPLAY_NAME_MAX, "pattern": LINE_PATTERN });
    constrain(schemas, "SignUpRequest", "display_name", &name);
    // SP-contract: an account is opened only by someone who accepts the terms.
    constrain(schemas, "SignUpRequest", "accept_terms", &json!({ "enum": [true] }));
    if let Some(Value::Array(required)) = schemas.get_mut("SignUpRequest").and_then(|s| s.get_mut("required")) {
        required.push(json!("accept_terms"));
    }
    constrain(schemas, "PresentationRequest", "locale", &json!({ "enum": augure_app::i18n::LOCALES }));
    let presentation = &settings.media.presentation;
    constrain(schemas, "PresentationRequest", "text", &json!({ "minLength": presentation.min_chars }));
    let chat = &settings.consultations.chat;
    constrain(schemas, "MessageRequest", "text", &json!({ "maxLength": chat.max_message_chars }));
    let reasons = EndReason::ALL.iter().map(|r| r.as_str().to_owned()).collect::<Vec<_>>();
    constrain(schemas, "ConsultationView", "end_reason", &json!({ "enum": nullable_enum(&reasons) }));
}

fn nullable_enum(values: &[String]) -> Value {
    let mut values: Vec<Value> = values.iter().map(|v| json!(v)).collect();
    values.push(Value::Null);
    Value::Array(values)
}

/// Parameters whose values the server knows: site codes, and the `Idempotency-Key`
/// header (1–255 visible characters).
fn constrain_parameters(operation: &mut Map<String, Value>, site_codes: &[String]) {
    let Some(params) = operation.get_mut("parameters").and_then(Value::as_array_mut) else { return };
    for param in params.iter_mut().filter_map(Value::as_object_mut) {
        let name = param.get("name").and_then(Value::as_str).unwrap_or_default();
        let location = param.get("in").and_then(Value::as_str).unwrap_or_default();
        let schema = match (location, name) {
            // Empty is the form's "any site".
            ("query", "site") => {
                json!({ "type": "string", "enum": site_codes.iter().map(String::as_str).chain([""]).collect::<Vec<_>>() })
            }
            // The directory's filter; an operation naming its own modes keeps them.
            ("query", "mode") if param.get("schema").is_none_or(|s| s.get("$ref").is_none()) => {
                json!({ "type": "string", "enum": ["phone", "chat", "email", "video", ""] })
            }
            ("header", "Idempotency-Key") => {
                json!({ "type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~](?:[ -~]*[!-~])?$" })
            }
            _ => continue,
        };
        param.insert("schema".into(), schema);
    }
}

/// Adds `constraints` to a property of a component schema.
fn constrain(schemas: &mut Map<String, Value>, schema: &str, property: &str, constraints: &Value) {
    let target = schemas.get_mut(schema).and_then(|s| s.pointer_mut(&format!("/properties/{property}")));
    if let (Some(Value::Object(target)), Value::Object(constraints)) = (target, constraints) {
        target.extend(constraints.clone());
    }
}

/// A query parameter the home page's form may send empty (its "any" choice): an empty
/// value is declared as well as the typed one.
fn allow_empty(operation: &mut Map<String, Value>, names: &[&str]) {
    let Some(params) = operation.get_mut("parameters").and_then(Value::as_array_mut) else { return };
    for param in params.iter_mut().filter_map(Value::as_object_mut) {
        if param.get("name").and_then(Value::as_str).is_some_and(|n| names.contains(&n))
            && let Some(schema) = param.remove("schema")
        {
            param.insert("schema".into(), json!({ "anyOf": [schema, { "type": "string", "maxLength": 0 }] }));
        }
    }
}

/// Raw uploads: bytes, not the array of integers `Vec<u8>` is described as.
fn binary_bodies(operation: &mut Map<String, Value>) {
    let Some(content) =
        operation.get_mut("requestBody").and_then(|b| b.get_mut("content")).and_then(Value::as_object_mut)
    else {
        return;
    };
    for (media_type, body) in content.iter_mut() {
        if media_type.starts_with("image/") || media_type.starts_with("audio/") {
            body["schema"] = json!({ "type": "string", "format": "binary" });
        }
    }
    // The server reads the bytes whatever their declared type: the common generic one is
    // declared too, for tools that cannot produce audio.
    if content.keys().any(|t| t.starts_with("audio/")) {
        content
            .insert("application/octet-stream".into(), json!({ "schema": { "type": "string", "format": "binary" } }));
    }
}
