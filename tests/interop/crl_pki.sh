#!/usr/bin/env bash
# A PKI with certificate revocation lists, made by `openssl ca` into OUTDIR
# (for unit.crl and interop.crl). Fresh each run: the CRLs' dates are
# relative to now, and the expired one really is past its nextUpdate.
#
#   ca.pem/.key            root CA "iotls crl root CA" (P-256, keyCertSign + cRLSign)
#   int.pem/.key           intermediate "iotls crl fleet CA", signed by the root
#   srv-ok, srv-revoked    server leaves (localhost, 127.0.0.1) from the root
#   dev-ok, dev-revoked    device (client) leaves from the root, CN device-ok / device-revoked
#   idev-ok, idev-revoked  device leaves from the intermediate; X-chain.pem = leaf + int.pem
#   ca.crl.pem / .der      the root's CRL: srv-revoked and dev-revoked, next update in 30 days
#   ca-expired.crl.pem     the same list, valid 2020-01-01 .. 2020-01-02 only
#   ca-revokes-int.crl.pem the root's later CRL, which also revokes the intermediate
#   int.crl.pem            the intermediate's CRL: idev-revoked
#   both.crl.pem           ca.crl.pem and int.crl.pem in one PEM file
#   forged.crl.pem         a CRL naming the root as issuer, listing nothing, signed
#                          by another key (a forged "nothing is revoked")
#   other.crl.pem          the CRL of an unrelated CA
# X.serial holds the certificate's serial as `openssl x509 -serial` prints it.
set -euo pipefail
out=${1:?usage: crl_pki.sh OUTDIR}
command -v openssl >/dev/null || { echo "crl_pki.sh: openssl not found: apt-get install openssl" >&2; exit 1; }
rm -rf "$out.tmp"
mkdir -p "$out.tmp"
cd "$out.tmp"

# One section per CA (name, then its certificate and key files).
printf '[ca]\ndefault_ca = root\n' > ext.cnf
for ca in root:ca int:int forger:forger other:other-ca; do
    cat >> ext.cnf <<CNF
[${ca%%:*}]
database = ${ca%%:*}.db/index.txt
serial = ${ca%%:*}.db/serial
new_certs_dir = ${ca%%:*}.db
certificate = ${ca#*:}.pem
private_key = ${ca#*:}.key
default_md = sha256
default_days = 30
policy = any
copy_extensions = none
unique_subject = no
crlnumber = ${ca%%:*}.db/crlnumber
crl_extensions = crl_ext
CNF
done
cat >> ext.cnf <<'CNF'
[crl_ext]
authorityKeyIdentifier = keyid:always
[any]
commonName = supplied
organizationName = optional
[int_ext]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null; }
db() { mkdir -p "$1.db" && : > "$1.db/index.txt" && echo "$2" > "$1.db/serial" && echo 01 > "$1.db/crlnumber"; }
root() { # root NAME SUBJECT
    key "$1"
    openssl req -new -x509 -key "$1.key" -subj "$2" -days 3650 -sha256 \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -addext "subjectKeyIdentifier=hash" -out "$1.pem"
}
issue() { # issue NAME CA-SECTION EXT SUBJECT
    key "$1"
    openssl req -new -key "$1.key" -subj "$4" -out "$1.csr"
    openssl ca -batch -config ext.cnf -name "$2" -extensions "$3" -in "$1.csr" \
        -out "$1.full.pem" 2>/dev/null
    openssl x509 -in "$1.full.pem" -out "$1.pem"
    openssl x509 -in "$1.pem" -noout -serial | cut -d= -f2 > "$1.serial"
}
revoke() { openssl ca -batch -config ext.cnf -name "$1" -revoke "$2.pem" 2>/dev/null; }
gencrl() { openssl ca -batch -config ext.cnf -name "$1" -gencrl -out "$2" "${@:3}" 2>/dev/null; }

root ca "/O=iotls test/CN=iotls crl root CA"
root forger "/O=iotls test/CN=iotls crl root CA"
root other-ca "/O=iotls test/CN=iotls crl unrelated CA"
db root 1001
db int 2001
db forger 3001
db other 4001
issue int root int_ext "/O=iotls test/CN=iotls crl fleet CA"
issue srv-ok root server_ext "/O=iotls test/CN=localhost"
issue srv-revoked root server_ext "/O=iotls test/CN=localhost"
issue dev-ok root client_ext "/O=iotls test/CN=device-ok"
issue dev-revoked root client_ext "/O=iotls test/CN=device-revoked"
issue idev-ok int client_ext "/O=iotls test/CN=fleet-device-ok"
issue idev-revoked int client_ext "/O=iotls test/CN=fleet-device-revoked"
cat idev-ok.pem int.pem > idev-ok-chain.pem
cat idev-revoked.pem int.pem > idev-revoked-chain.pem

revoke root srv-revoked
revoke root dev-revoked
gencrl root ca.crl.pem -crldays 30
openssl crl -in ca.crl.pem -outform DER -out ca.crl.der
gencrl root ca-expired.crl.pem -crl_lastupdate 20200101000000Z -crl_nextupdate 20200102000000Z
revoke root int
gencrl root ca-revokes-int.crl.pem -crldays 30
revoke int idev-revoked
gencrl int int.crl.pem -crldays 30
cat ca.crl.pem int.crl.pem > both.crl.pem
gencrl forger forged.crl.pem -crldays 30
gencrl other other.crl.pem -crldays 30

# Self-checks with openssl's own verifier, so a broken PKI fails here.
ok() { openssl verify -crl_check "$@" >/dev/null 2>&1; }
refused() {
    if ok "$@"; then echo "crl_pki.sh: openssl verify accepts $*" >&2; exit 1; fi
}
ok -CAfile ca.pem -CRLfile ca.crl.pem srv-ok.pem
ok -CAfile ca.pem -CRLfile ca.crl.pem dev-ok.pem
refused -CAfile ca.pem -CRLfile ca.crl.pem dev-revoked.pem
refused -CAfile ca.pem -CRLfile ca-expired.crl.pem dev-ok.pem
refused -CAfile ca.pem -CRLfile forged.crl.pem dev-ok.pem
ok -CAfile ca.pem -untrusted int.pem -CRLfile int.crl.pem idev-ok.pem
refused -CAfile ca.pem -untrusted int.pem -CRLfile int.crl.pem idev-revoked.pem
[ "$(openssl crl -in forged.crl.pem -noout -issuer)" = "$(openssl crl -in ca.crl.pem -noout -issuer)" ]

rm -rf ./*.csr ./*.full.pem ./*.db
cd ..
rm -rf "$out"
mv "$out.tmp" "$out"
echo "crl_pki.sh: CRL test PKI in $out"
