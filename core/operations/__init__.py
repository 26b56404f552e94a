"""Operations: backups and restores, health checks, request ids in the logs."""
