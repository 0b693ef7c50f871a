"""The AWS Step Functions API (AWS JSON 1.0, `POST /` with `X-Amz-Target`), in AWS's own
request, response and error shapes, so boto3 and the aws CLI are its clients."""
