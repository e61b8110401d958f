# The production base of the helper VM image: Alpine with its own Open vSwitch,
# OVN, Node.js and iproute2, and the @arca-net/vsock addon built for musl (the
# one in helpervm/dist links glibc). helpervm/image.sh production builds it
# from a staged context (the addon's sources and node-addon-api's headers),
# then helpervm/Dockerfile on top (the layers the Debian test base gets too).
FROM alpine:3.20 AS addon
RUN apk add --no-cache g++ nodejs-dev linux-headers
COPY src/ /build/src/
COPY node-addon-api/ /build/node-addon-api/
# binding.gyp's flags, without node-gyp (nothing to fetch).
RUN g++ -shared -fPIC -O2 -std=c++17 -fexceptions -DNAPI_VERSION=8 -DNAPI_CPP_EXCEPTIONS \
      -I/usr/include/node -I/build/node-addon-api /build/src/*.cc -o /build/arca_vsock.node

FROM alpine:3.20
# iproute2-ss: the controller reads the drops of OVS's port sockets with `ss -0 -e -m`.
RUN apk add --no-cache openvswitch ovn nodejs iproute2 iproute2-ss ethtool libstdc++
COPY --from=addon /build/arca_vsock.node /usr/lib/arca-net-musl/arca_vsock.node
# The launcher (arca-net-controller) loads the addon from here instead.
ENV ARCA_NET_VSOCK_ADDON=/usr/lib/arca-net-musl/arca_vsock.node
