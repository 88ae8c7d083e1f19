"""Wire layer of the GIS client: SOAP envelopes, HTTP transport, XSD validation, safe XML parsing."""
