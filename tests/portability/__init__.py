"""Other languages' tools read openapi.yaml: TypeScript types, a Java client, the breaking-change
guard, the HTML reference and the packaged copy of the document."""
