// @mmit/ingest
