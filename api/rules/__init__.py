"""Rule definitions: read every rule, create and change the ones kept in the database."""
