// The fake portal's schema as a new HubSpot portal has it: property definitions (with their groups)
// and the default pipelines per object type, in HubSpot's response shapes (Property, Pipeline,
// PipelineStage). hubspot-schema.ts serves and extends them.
export interface FakeProperty {
  name: string;
  label: string;
  type: string;
  fieldType: string;
  groupName: string;
  description: string;
  options: { label: string; value: string; displayOrder: number; hidden: boolean; description?: string }[];
  displayOrder: number;
  calculated: boolean;
  externalOptions: boolean;
  hasUniqueValue: boolean;
  hidden: boolean;
  hubspotDefined?: boolean;
  modificationMetadata: { archivable: boolean; readOnlyDefinition: boolean; readOnlyValue: boolean };
  formField: boolean;
  createdAt: string;
  updatedAt: string;
  archived: boolean;
}

export interface FakeStage {
  id: string;
  label: string;
  displayOrder: number;
  metadata: Record<string, string>;
  createdAt: string;
  updatedAt: string;
  archived: boolean;
  writePermissions: string;
}

export interface FakePipeline {
  id: string;
  label: string;
  displayOrder: number;
  stages: FakeStage[];
  createdAt: string;
  updatedAt: string;
  archived: boolean;
}

export interface FakePropertyGroup {
  name: string;
  label: string;
  displayOrder: number;
  archived: boolean;
}

export interface FakeSchema {
  properties: Map<string, Map<string, FakeProperty>>;
  /** Property groups by object type, then name. */
  groups: Map<string, Map<string, FakePropertyGroup>>;
  pipelines: Map<string, FakePipeline[]>;
}

export const OBJECT_TYPES = ["tickets", "companies", "contacts", "deals", "notes"] as const;

type Seed = [name: string, label: string, type: string, fieldType: string, extra?: Partial<FakeProperty>];
const readOnly = {
  modificationMetadata: { archivable: false, readOnlyDefinition: true, readOnlyValue: true },
};
const opts = (...values: string[]) =>
  values.map((value, i) => ({
    label: value.replace(/_/g, " ").toLowerCase(),
    value,
    displayOrder: i,
    hidden: false,
  }));
const common = (group: string): Seed[] => [
  ["hs_object_id", "Record ID", "number", "number", { ...readOnly, groupName: group }],
  ["createdate", "Create date", "datetime", "date", { ...readOnly, groupName: group }],
  ["hs_lastmodifieddate", "Last modified date", "datetime", "date", { ...readOnly, groupName: group }],
];

const SEEDS: Record<(typeof OBJECT_TYPES)[number], { group: string; groupLabel: string; props: Seed[] }> = {
  tickets: {
    group: "ticketinformation",
    groupLabel: "Ticket information",
    props: [
      ["subject", "Ticket name", "string", "text"],
      ["content", "Ticket description", "string", "textarea"],
      // Pipelines and stages are enumerations whose options are the pipelines' ids (not validated here).
      ["hs_pipeline", "Pipeline", "enumeration", "select"],
      ["hs_pipeline_stage", "Ticket status", "enumeration", "select"],
      [
        "hs_ticket_priority",
        "Priority",
        "enumeration",
        "select",
        { options: opts("LOW", "MEDIUM", "HIGH", "URGENT") },
      ],
      [
        "hs_ticket_category",
        "Category",
        "enumeration",
        "checkbox",
        { options: opts("PRODUCT_ISSUE", "BILLING_ISSUE", "FEATURE_REQUEST", "GENERAL_INQUIRY") },
      ],
    ],
  },
  companies: {
    group: "companyinformation",
    groupLabel: "Company information",
    props: [
      ["name", "Company name", "string", "text"],
      ["domain", "Company domain name", "string", "text"],
    ],
  },
  contacts: {
    group: "contactinformation",
    groupLabel: "Contact information",
    props: [
      ["email", "Email", "string", "text"],
      ["firstname", "First name", "string", "text"],
      ["lastname", "Last name", "string", "text"],
      [
        "lifecyclestage",
        "Lifecycle stage",
        "enumeration",
        "radio",
        {
          options: opts(
            "subscriber",
            "lead",
            "marketingqualifiedlead",
            "salesqualifiedlead",
            "opportunity",
            "customer",
          ),
        },
      ],
    ],
  },
  deals: {
    group: "dealinformation",
    groupLabel: "Deal information",
    props: [
      ["dealname", "Deal name", "string", "text"],
      ["amount", "Amount", "number", "number"],
      ["pipeline", "Pipeline", "enumeration", "select"],
      ["dealstage", "Deal stage", "enumeration", "radio"],
    ],
  },
  notes: {
    group: "engagement",
    groupLabel: "Engagement",
    props: [
      ["hs_note_body", "Note body", "string", "html"],
      ["hs_timestamp", "Activity date", "datetime", "date"],
    ],
  },
};

export const stage = (
  id: string,
  label: string,
  order: number,
  metadata: Record<string, string>,
  at: string,
) => ({
  id,
  label,
  displayOrder: order,
  metadata,
  createdAt: at,
  updatedAt: at,
  archived: false,
  writePermissions: "CRM_PERMISSIONS_ENFORCEMENT",
});

export function seedSchema(at: string): FakeSchema {
  const properties = new Map<string, Map<string, FakeProperty>>();
  const groups = new Map<string, Map<string, FakePropertyGroup>>();
  for (const type of OBJECT_TYPES) {
    const { group, groupLabel, props } = SEEDS[type];
    groups.set(
      type,
      new Map([[group, { name: group, label: groupLabel, displayOrder: -1, archived: false }]]),
    );
    const defs = new Map<string, FakeProperty>();
    for (const [name, label, t, fieldType, extra] of [...props, ...common(group)]) {
      defs.set(name, {
        name,
        label,
        type: t,
        fieldType,
        groupName: group,
        description: "",
        options: [],
        displayOrder: -1,
        calculated: false,
        externalOptions: false,
        hasUniqueValue: false,
        hidden: false,
        hubspotDefined: true,
        modificationMetadata: { archivable: false, readOnlyDefinition: true, readOnlyValue: false },
        formField: false,
        createdAt: at,
        updatedAt: at,
        archived: false,
        ...extra,
      });
    }
    properties.set(type, defs);
  }
  const open = (s: string) => ({ ticketState: s, isClosed: String(s === "CLOSED") });
  const deal = (p: string, closed = false) => ({ probability: p, isClosed: String(closed) });
  const pipelines = new Map<string, FakePipeline[]>([
    [
      "tickets",
      [
        {
          id: "0",
          label: "Support Pipeline",
          displayOrder: 0,
          stages: [
            stage("1", "New", 0, open("OPEN"), at),
            stage("2", "Waiting on contact", 1, open("OPEN"), at),
            stage("3", "Waiting on us", 2, open("OPEN"), at),
            stage("4", "Closed", 3, open("CLOSED"), at),
          ],
          createdAt: at,
          updatedAt: at,
          archived: false,
        },
      ],
    ],
    [
      "deals",
      [
        {
          id: "default",
          label: "Sales Pipeline",
          displayOrder: 0,
          stages: [
            stage("appointmentscheduled", "Appointment Scheduled", 0, deal("0.2"), at),
            stage("qualifiedtobuy", "Qualified To Buy", 1, deal("0.4"), at),
            stage("closedwon", "Closed Won", 2, deal("1.0", true), at),
            stage("closedlost", "Closed Lost", 3, deal("0.0", true), at),
          ],
          createdAt: at,
          updatedAt: at,
          archived: false,
        },
      ],
    ],
  ]);
  return { properties, groups, pipelines };
}
