#!/bin/bash
# Starts a throw-away one-node Ceph cluster and its S3 gateway on port 7480. Everything lives in
# memory (memstore), so each start begins from nothing: stale state from a previous run is wiped.
# Authentication between the daemons is off; then the `ms * mode = crc` settings are required, or
# radosgw loops on "get_initial_auth_request returned -13".
set -euo pipefail
log() { printf '[s3-test-server] %s\n' "$*"; }

ACCESS_KEY=${S3_ACCESS_KEY:-modelarts-test-access-key}
SECRET_KEY=${S3_SECRET_KEY:-modelarts-test-secret-key}
STORE_BYTES=${S3_STORE_BYTES:-8589934592}
FSID=3f0b8a52-5d1e-4f43-9d55-8a3c1c6f7e21
OSD_UUID=9a1c4d3e-2b7f-4e58-8f61-0c2d7b5e4a90

rm -rf /var/lib/ceph/mon /var/lib/ceph/osd /var/lib/ceph/radosgw /var/run/ceph /tmp/monmap
mkdir -p /etc/ceph /var/lib/ceph/mon/ceph-a /var/lib/ceph/osd/ceph-0 /var/lib/ceph/radosgw/ceph-rgw.a /var/run/ceph /var/log/ceph

cat >/etc/ceph/ceph.conf <<CONF
[global]
fsid = $FSID
mon initial members = a
mon host = v2:127.0.0.1:3300,v1:127.0.0.1:6789
public network = 127.0.0.0/8
auth cluster required = none
auth service required = none
auth client required = none
ms cluster mode = crc
ms service mode = crc
ms client mode = crc
ms mon cluster mode = crc
ms mon service mode = crc
ms mon client mode = crc
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
mon allow pool delete = true
log file = /var/log/ceph/\$name.log

[osd]
osd objectstore = memstore
memstore device bytes = $STORE_BYTES
osd data = /var/lib/ceph/osd/ceph-\$id

[client.rgw.a]
rgw frontends = beast port=7480
rgw data = /var/lib/ceph/radosgw/ceph-rgw.a
rgw dns name = localhost
# Deleted objects' data goes through the garbage collector, by default after two hours: with the
# data in memory, collect it at once or a few benchmark rounds fill the OSD.
rgw gc obj min wait = 0
rgw gc processor period = 5
CONF

log "monitor"
monmaptool --create --fsid "$FSID" --addv a '[v2:127.0.0.1:3300,v1:127.0.0.1:6789]' /tmp/monmap >/dev/null
ceph-mon --mkfs -i a --monmap /tmp/monmap
ceph-mon -i a -f &
for _ in $(seq 1 60); do timeout 5 ceph -s >/dev/null 2>&1 && break; sleep 0.5; done
timeout 10 ceph -s >/dev/null || { log "the monitor did not answer"; tail -n 30 /var/log/ceph/mon.a.log; exit 1; }

log "memstore OSD ($((STORE_BYTES / 1048576)) MiB)"
ceph osd new "$OSD_UUID" >/dev/null
ceph-osd -i 0 --mkfs --osd-uuid "$OSD_UUID" >/dev/null 2>&1 || { tail -n 30 /var/log/ceph/osd.0.log; exit 1; }
ceph-osd -i 0 -f &
for _ in $(seq 1 60); do ceph osd stat 2>/dev/null | grep -q '1 up' && break; sleep 0.5; done
ceph osd stat | grep -q '1 up' || { log "the OSD did not come up"; tail -n 30 /var/log/ceph/osd.0.log; exit 1; }

log "gateway on port 7480"
radosgw -n client.rgw.a -f &
for _ in $(seq 1 120); do
  radosgw-admin user info --uid=modelarts-test >/dev/null 2>&1 && break
  radosgw-admin user create --uid=modelarts-test --display-name='ModelArts tests' \
    --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >/dev/null 2>&1 && break
  sleep 0.5
done
radosgw-admin user info --uid=modelarts-test >/dev/null || { log "could not create the test user"; exit 1; }
log "ready"

# The container lives as long as every daemon does.
wait -n
log "a Ceph daemon exited"; exit 1
