/** The SDK client settings every AWS client of rolegate is built with. */
import type { AwsConfig } from './config.js';

/**
 * The SDK client settings (region, endpoint) of the `aws` section. Each is
 * left out when the section does not set it, so the SDK's own default
 * (`AWS_REGION`, the profile, the public endpoint) applies.
 */
export function clientConfig(aws: AwsConfig | undefined): { region?: string; endpoint?: string } {
  return {
    ...(aws?.region === undefined ? {} : { region: aws.region }),
    ...(aws?.endpoint === undefined ? {} : { endpoint: aws.endpoint }),
  };
}
