# The production base of the helper VM image: Alpine with its own Open vSwitch,
# OVN, Node.js and iproute2. helpervm/image.sh production builds it, then
# helpervm/Dockerfile on top (the layers the Debian test base gets too).
FROM alpine:3.20
# libstdc++ and gcompat: helpervm/dist/arca_vsock.node is built on the build
# machine against glibc (a musl build of the addon is not made yet).
RUN apk add --no-cache openvswitch ovn nodejs iproute2 ethtool libstdc++ gcompat
