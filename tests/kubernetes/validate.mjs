// validate.mjs: every document of the given YAML files against the Kubernetes API schema,
// through the npm package kubernetes-models (JSON schemas generated from the Kubernetes
// OpenAPI spec, checked with ajv).  Prints "ok FILE Kind/name" or "invalid FILE Kind/name:
// reason" per document and exits 1 if any is invalid.  --json FILE...: print the documents
// as one JSON array instead (for jq).
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import { Namespace } from "kubernetes-models/v1/Namespace";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Pod } from "kubernetes-models/v1/Pod";
import { DaemonSet } from "kubernetes-models/apps/v1/DaemonSet";
import { Job } from "kubernetes-models/batch/v1/Job";

const models = {
	"v1/Namespace": Namespace,
	"v1/ConfigMap": ConfigMap,
	"v1/Pod": Pod,
	"apps/v1/DaemonSet": DaemonSet,
	"batch/v1/Job": Job,
};
let args = process.argv.slice(2), asJson = false, failed = 0;
const all = [];
if (args[0] === "--json") {
	asJson = true;
	args = args.slice(1);
}
for (const file of args) {
	for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
		if (doc.errors.length) {
			console.log(`invalid ${file}: YAML: ${doc.errors[0].message}`);
			failed++;
			continue;
		}
		const obj = doc.toJS();
		if (obj === null)
			continue;
		all.push(obj);
		const what = `${obj.kind}/${obj.metadata && obj.metadata.name}`;
		const Model = models[`${obj.apiVersion}/${obj.kind}`];
		if (!Model) {
			console.log(`invalid ${file} ${what}: no schema for ${obj.apiVersion} ${obj.kind}`);
			failed++;
			continue;
		}
		try {
			new Model(obj).validate();
			if (!asJson)
				console.log(`ok ${file} ${what}`);
		} catch (e) {
			console.log(`invalid ${file} ${what}: ${e.message}`);
			failed++;
		}
	}
}
if (asJson)
	console.log(JSON.stringify(all));
process.exit(failed ? 1 : 0);
