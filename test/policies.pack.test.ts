import { PolicyPack, PolicyPackArgs } from "@pulumi/policy";
import { allPolicies } from "../policies/evaluate";

/**
 * `policies/index.ts` as `pulumi preview --policy-pack policies` loads it. The real PolicyPack
 * constructor starts a gRPC server and prints its port, so it is replaced by a recorder here.
 */

jest.mock("@pulumi/policy", () => ({
  ...jest.requireActual<object>("@pulumi/policy"),
  PolicyPack: jest.fn(),
}));

test("serves exactly the harness's policies as pack `cutover`, mandatory by default", () => {
  // GIVEN the pack entry point
  // WHEN it is loaded
  jest.isolateModules(() => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require("../policies/index");
  });
  // THEN it builds one pack named cutover from the policies the harness runs
  const calls = (PolicyPack as unknown as jest.Mock).mock.calls as [string, PolicyPackArgs][];
  expect(calls).toHaveLength(1);
  const [name, args] = calls[0];
  expect(name).toMatch(/^[a-zA-Z0-9-_.]{1,100}$/);
  expect(name).toBe("cutover");
  expect(args.enforcementLevel).toBe("mandatory");
  expect(args.policies.map((p) => p.name)).toEqual(allPolicies.map((p) => p.name));
  expect(args.description).toMatch(/EKS/);
});
