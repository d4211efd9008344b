// Validates Kubernetes objects against the API schemas shipped by the npm package
// kubernetes-models (JSON Schemas of the Kubernetes OpenAPI, compiled to validators).
// Usage: node validate_k8s.cjs NODE_MODULES_PARENT < objects.json
//   objects.json: a JSON array of {source, object}. Prints one line per object and
//   exits 1 when any object is invalid or of a kind the package does not know.
// Note: the package checks types, required fields, formats and enums; it does not
// reject unknown fields (check_k8s.py checks the fields nmoe relies on).
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.join(process.argv[2], 'node_modules', 'kubernetes-models');
const items = JSON.parse(fs.readFileSync(0, 'utf8'));
let bad = 0;
for (const { source, object } of items) {
  const what = `${source}: ${object.kind}/${object.metadata && object.metadata.name}`;
  let Model;
  try {
    // apiVersion "v1" -> v1/Kind, "apps/v1" -> apps/v1/Kind.
    Model = require(path.join(root, object.apiVersion, object.kind))[object.kind];
  } catch (e) {
    console.log(`INVALID ${what}: no schema for ${object.apiVersion} ${object.kind}`);
    bad++;
    continue;
  }
  try {
    new Model(object).validate();
    console.log(`ok ${what}`);
  } catch (e) {
    console.log(`INVALID ${what}: ${e.message}`);
    bad++;
  }
}
process.exit(bad ? 1 : 0);
