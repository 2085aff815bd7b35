#!/bin/bash
# InfluxDB 2.7 first-start hook (mounted at /docker-entrypoint-initdb.d by docker-compose.yml).
#
# The cityhall processes and Grafana speak InfluxQL to the v1 compatibility API (/write, /query) with
# "Authorization: Token <INFLUXDB_ADMIN_TOKEN>" and db=<bucket name>. /query needs a database/retention-policy
# (DBRP) mapping to find the bucket, so map db "<bucket>" + rp "autogen" (the 1.x default name) to the initial
# bucket and make it the database's default retention policy, so queries without an explicit RP resolve too.
#
# The image runs this once, right after `setup` and before the server starts serving on 8086; it exports
# DOCKER_INFLUXDB_INIT_BUCKET_ID and INFLUX_CONFIGS_PATH (the CLI config holding the operator token).
# It never runs again once /var/lib/influxdb2 holds a database; for an existing server run the same command
# by hand:  docker compose exec influxdb influx v1 dbrp create --bucket-id <id> --db cityhall --rp autogen --default
#
# Token auth needs no v1 user. A 1.x-style client that can only send username/password would need
#   influx v1 auth create --username <u> --password <p> --read-bucket <id> --write-bucket <id>
# and CITYHALL_INFLUX_USERNAME / CITYHALL_INFLUX_PASSWORD instead of CITYHALL_INFLUX_TOKEN.
set -euo pipefail

bucket="${DOCKER_INFLUXDB_INIT_BUCKET:?}"
bucket_id="${DOCKER_INFLUXDB_INIT_BUCKET_ID:?}"
org="${DOCKER_INFLUXDB_INIT_ORG:?}"

influx v1 dbrp create \
    --org "$org" \
    --bucket-id "$bucket_id" \
    --db "$bucket" \
    --rp autogen \
    --default
echo "10-cityhall-dbrp.sh: mapped v1 database $bucket (rp autogen) to bucket $bucket ($bucket_id)"
