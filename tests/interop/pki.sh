#!/usr/bin/env bash
# Generates the interop test PKI with the openssl CLI into OUTDIR (ctest
# fixture "pki"). Everything is made fresh each run: nothing secret or dated
# is kept in the repository, and the expired leaf really is expired.
#
#   ca.pem/.key          root CA, ECDSA P-256 (the only trust anchor clients get)
#   int.pem/.key         intermediate CA (P-256) signed by the root
#   ecdsa-p256, ecdsa-p384, rsa2048   server leaves for DNS:localhost + IP:127.0.0.1
#   chain-leaf           leaf (P-256) issued by the intermediate;
#                        chain.pem = chain-leaf + intermediate (what the server sends)
#   expired              leaf valid 2020-01-01 .. 2021-01-01 only
#   wrongname            leaf for DNS:wrong.example only
#   other-ca.pem         an unrelated CA; other-leaf is a localhost leaf issued by it
#   big                  leaf with ~450 SANs: its Certificate message is over 16 KiB
#   client-ecdsa, client-rsa   client certificates (P-256, RSA-2048) from the root
# Each leaf X has X.pem (the cert) and X.key (PKCS#8 key).
set -euo pipefail
out=${1:?usage: pki.sh OUTDIR}
command -v openssl >/dev/null || { echo "pki.sh: openssl not found: apt-get install openssl" >&2; exit 1; }
rm -rf "$out.tmp"
mkdir -p "$out.tmp"
cd "$out.tmp"

cat > ext.cnf <<'CNF'
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
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
[server_rsa_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[wrongname_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:wrong.example
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[big_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = @big_alt
[big_alt]
DNS.0 = localhost
IP.0 = 127.0.0.1
CNF
# A leaf with many names, as some CDN and gateway certificates have: the
# point is a Certificate handshake message larger than one 16 KiB record.
for i in $(seq 1 450); do
    printf 'DNS.%d = device-%04d.sensors.iotls-test.example\n' "$i" "$i" >> ext.cnf
done

key() { # key NAME ALG
    case $2 in
    p256) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" ;;
    p384) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$1.key" ;;
    rsa2048) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1.key" ;;
    esac 2>/dev/null
}
ca_root() { # ca_root NAME CN
    key "$1" p256
    openssl req -new -x509 -key "$1.key" -subj "/O=iotls test/CN=$2" -days 3650 -sha256 \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$1.pem"
}
issue() { # issue NAME ALG ISSUER EXT CN
    key "$1" "$2"
    openssl req -new -key "$1.key" -subj "/O=iotls test/CN=$5" -out "$1.csr"
    openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" -CAcreateserial -days 825 \
        -sha256 -extfile ext.cnf -extensions "$4" -out "$1.pem" 2>/dev/null
}

ca_root ca "iotls interop root CA"
ca_root other-ca "unrelated CA"
issue int p256 ca int_ext "iotls interop intermediate CA"
issue ecdsa-p256 p256 ca server_ext localhost
issue ecdsa-p384 p384 ca server_ext localhost
issue rsa2048 rsa2048 ca server_rsa_ext localhost
issue chain-leaf p256 int server_ext localhost
cat chain-leaf.pem int.pem > chain.pem
cp chain-leaf.key chain.key
issue wrongname p256 ca wrongname_ext wrong.example
issue other-leaf p256 other-ca server_ext localhost
issue big p256 ca big_ext localhost
issue client-ecdsa p256 ca client_ext "iotls interop client ecdsa"
issue client-rsa rsa2048 ca client_ext "iotls interop client rsa"

# The expired leaf needs fixed past dates, which only `openssl ca` takes.
key expired p256
openssl req -new -key expired.key -subj "/O=iotls test/CN=localhost" -out expired.csr
mkdir -p cadb && : > cadb/index.txt && echo 1000 > cadb/serial
cat > ca.cnf <<'CNF'
[ca]
default_ca = test_ca
[test_ca]
dir = cadb
database = cadb/index.txt
serial = cadb/serial
new_certs_dir = cadb
certificate = ca.pem
private_key = ca.key
default_md = sha256
policy = any
copy_extensions = none
unique_subject = no
[any]
commonName = supplied
organizationName = optional
[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF
openssl ca -batch -config ca.cnf -extensions server_ext -startdate 20200101000000Z \
    -enddate 20210101000000Z -in expired.csr -out expired.full.pem 2>/dev/null
openssl x509 -in expired.full.pem -out expired.pem

# Self-checks, so a broken PKI fails here and not as a puzzling interop cell.
for c in ecdsa-p256 ecdsa-p384 rsa2048 wrongname big client-ecdsa client-rsa; do
    openssl verify -CAfile ca.pem "$c.pem" >/dev/null
done
openssl verify -CAfile ca.pem -untrusted int.pem chain-leaf.pem >/dev/null
openssl verify -CAfile other-ca.pem other-leaf.pem >/dev/null
if openssl verify -CAfile ca.pem expired.pem >/dev/null 2>&1; then
    echo "pki.sh: expired.pem verifies?" >&2; exit 1
fi
big_der=$(openssl x509 -in big.pem -outform DER | wc -c)
if [ "$big_der" -le 16384 ]; then
    echo "pki.sh: big.pem is only $big_der bytes, want > 16384" >&2; exit 1
fi
rm -rf ./*.csr ./*.srl cadb ca.cnf expired.full.pem ext.cnf
cd ..
rm -rf "$out"
mv "$out.tmp" "$out"
echo "pki.sh: test PKI in $out (big leaf: $big_der bytes DER)"
