//! The exported SDL matches the code, offers everything the contract's
//! least schema names, and every contract operation validates against it.
use std::collections::HashMap;

use async_graphql::parser::parse_schema;
use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};
use serde_json::json;

use crate::helpers::{operation, spawn_app};

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn schema_graphql_is_the_sdl_the_code_serves() {
    let exported = read("schema.graphql");
    assert!(
        exported == scholargraph::graphql::sdl(),
        "schema.graphql is stale: run `cargo run -- export-schema --output schema.graphql`"
    );
}

/// Every type, field, argument and enum value of a schema, with its type.
fn shape(sdl: &str) -> HashMap<String, String> {
    let document = parse_schema(sdl).expect("SDL parses");
    let mut out = HashMap::new();
    for definition in document.definitions {
        let TypeSystemDefinition::Type(ty) = definition else { continue };
        let name = ty.node.name.node.to_string();
        match &ty.node.kind {
            TypeKind::Object(object) => {
                out.insert(name.clone(), "object".to_owned());
                for field in &object.fields {
                    let field_name = format!("{name}.{}", field.node.name.node);
                    out.insert(field_name.clone(), field.node.ty.node.to_string());
                    for arg in &field.node.arguments {
                        out.insert(format!("{field_name}({})", arg.node.name.node), arg.node.ty.node.to_string());
                    }
                }
                for interface in &object.implements {
                    out.insert(format!("{name} implements {}", interface.node), String::new());
                }
            }
            TypeKind::Interface(interface) => {
                out.insert(name.clone(), "interface".to_owned());
                for field in &interface.fields {
                    out.insert(format!("{name}.{}", field.node.name.node), field.node.ty.node.to_string());
                }
            }
            TypeKind::InputObject(input) => {
                out.insert(name.clone(), "input".to_owned());
                for field in &input.fields {
                    out.insert(format!("{name}.{}", field.node.name.node), field.node.ty.node.to_string());
                }
            }
            TypeKind::Enum(e) => {
                out.insert(name.clone(), "enum".to_owned());
                for value in &e.values {
                    out.insert(format!("{name}::{}", value.node.value.node), String::new());
                }
            }
            TypeKind::Scalar => {
                out.insert(name, "scalar".to_owned());
            }
            TypeKind::Union(_) => {
                out.insert(name, "union".to_owned());
            }
        }
    }
    out
}

#[test]
fn the_schema_offers_everything_the_contract_names_with_the_same_types() {
    let contract = shape(&read("tests/contract/minimum-schema.graphql"));
    let served = shape(&read("schema.graphql"));
    let mut missing = Vec::new();
    for (item, ty) in &contract {
        match served.get(item) {
            Some(served_ty) if served_ty == ty => {}
            Some(served_ty) => missing.push(format!("{item}: contract says `{ty}`, schema has `{served_ty}`")),
            None => missing.push(format!("{item}: missing")),
        }
    }
    missing.sort();
    assert!(missing.is_empty(), "the schema differs from the contract:\n{}", missing.join("\n"));
}

/// Operation names of a contract file.
fn operation_names(text: &str) -> Vec<String> {
    let document = async_graphql::parser::parse_query(text).expect("operation parses");
    document.operations.iter().filter_map(|(name, _)| name.map(|n| n.to_string())).collect()
}

#[tokio::test]
async fn every_contract_operation_validates() {
    let app = spawn_app().await;
    let researcher = app.researcher_id("marc-mezard").await;
    let variables = json!({
        "slug": "marc-mezard", "id": researcher, "researcherId": researcher,
        "claimId": "Q2xhaW06MQ", "invitationId": "Q29sbGFib3JhdGlvbkludml0ZTox",
        "decision": "APPROVE", "accept": true, "message": "Hello", "openToCollaborate": true,
    });
    let ids = app.data("{ topics(first: 1) { nodes { id } } works(first: 1) { nodes { id } } }", json!({})).await;
    let (topic, work) = (ids["topics"]["nodes"][0]["id"].clone(), ids["works"]["nodes"][0]["id"].clone());
    let mut checked = 0;
    for file in
        ["academic.graphql", "graph.graphql", "mutations.graphql", "profile.graphql", "viewer.graphql", "works.graphql"]
    {
        let text = operation(file);
        for name in operation_names(&text) {
            let mut variables = variables.clone();
            // `$id` names a researcher, except in the topic and work lookups.
            match name.as_str() {
                "Topic" => variables["id"] = topic.clone(),
                "Work" => variables["id"] = work.clone(),
                _ => {}
            }
            let response = app.operation(file, &name, variables).await;
            // Validation errors have no path; resolver errors do. Anonymous,
            // the only resolver error an operation may meet is the sign-in
            // it needs: anything else (INTERNAL included) is a failure.
            let errors = response["errors"].as_array().cloned().unwrap_or_default();
            for error in &errors {
                assert!(error.get("path").is_some(), "{file} {name} does not validate: {error}");
                assert_eq!(error["extensions"]["code"], "UNAUTHENTICATED", "{file} {name}: {error}");
            }
            if errors.is_empty() {
                assert!(response["data"].is_object(), "{file} {name} answers data: {response}");
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 19, "every operation of the contract was checked");

    // The subscription runs over the real socket and delivers an event.
    let mut client = crate::live_events::subscribe(&app, &researcher).await;
    let event = crate::live_events::wait_until_live(&app, &mut client, &researcher).await;
    assert_eq!(event["kind"], "FOLLOWED", "{event:#}");
    assert_eq!(event["researcher"]["id"], researcher, "{event:#}");
}
