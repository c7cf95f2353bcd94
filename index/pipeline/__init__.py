"""The pipeline that stores articles: chunking, embedding, incremental sync and its report, status."""
