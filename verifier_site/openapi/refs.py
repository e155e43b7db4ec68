"""A reference to one of the document's component schemas, shared by every part of it."""


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}
