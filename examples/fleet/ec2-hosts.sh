#!/bin/sh
# A hosts_command for drover: prints one host per line, for the running EC2 instances that
# carry a tag, from `aws ec2 describe-instances` (the AWS CLI's usual credentials apply).
#
#   ec2-hosts.sh TAG_KEY TAG_VALUE [FORMAT]
#
# FORMAT turns an instance's private IP address into a host: "{}" is the address.
#   Docker over TLS:  ec2-hosts.sh drover-fleet news 'tcp://{}:2376'
#   SSH:              ec2-hosts.sh drover-fleet news 'crawler@{}:22'
# Exit status non-zero (and a message on stderr) when the AWS CLI fails: drover keeps the last
# good list and reports the failure. Prints nothing when no instance matches.
set -eu
key=${1:?usage: ec2-hosts.sh TAG_KEY TAG_VALUE [FORMAT]}
value=${2:?usage: ec2-hosts.sh TAG_KEY TAG_VALUE [FORMAT]}
format=${3:-'{}'}
# First into a variable: a failing `aws` must fail the script (sh has no pipefail).
ips=$(aws ec2 describe-instances \
    --filters "Name=tag:$key,Values=$value" "Name=instance-state-name,Values=running" \
    --query 'Reservations[].Instances[].PrivateIpAddress' --output text)
# Text output puts a reservation's instances on one line, tab-separated.
for ip in $ips; do
    [ "$ip" = None ] && continue
    printf '%s\n' "$format" | sed "s/{}/$ip/g"
done
